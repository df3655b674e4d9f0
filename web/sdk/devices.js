// Convene browser SDK: local devices (open a microphone or camera, list devices, a level meter).
import { MediaAccessError } from './util.js';

/**
 * Opens one microphone or camera track.
 * @param {'microphone'|'camera'} source
 * @param {string} [deviceId]
 * @returns {Promise<MediaStreamTrack>}
 */
export async function getTrack(source, deviceId) {
  /** @type {MediaStreamConstraints} */
  const c = source === 'microphone'
    ? { audio: { deviceId: deviceId ? { exact: deviceId } : undefined, echoCancellation: true, noiseSuppression: true, autoGainControl: true } }
    : { video: { deviceId: deviceId ? { exact: deviceId } : undefined, width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } };
  try {
    const s = await navigator.mediaDevices.getUserMedia(c);
    return source === 'microphone' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
  } catch (e) {
    throw new MediaAccessError(source, e);
  }
}

/**
 * Lists microphones, cameras and speakers (labels are empty until a permission was granted).
 * @returns {Promise<{ audioinput: MediaDeviceInfo[], videoinput: MediaDeviceInfo[], audiooutput: MediaDeviceInfo[] }>}
 */
export async function listDevices() {
  const all = navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
  return {
    audioinput: all.filter((d) => d.kind === 'audioinput'),
    videoinput: all.filter((d) => d.kind === 'videoinput'),
    audiooutput: all.filter((d) => d.kind === 'audiooutput'),
  };
}

/**
 * A microphone level meter: calls `onLevel(0..1)` about 15 times a second until the returned stop function is called.
 * @param {MediaStreamTrack} track
 * @param {(level: number) => void} onLevel
 */
export function meterLevel(track, onLevel) {
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const an = ctx.createAnalyser();
  an.fftSize = 512;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  const timer = setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    onLevel(Math.min(1, Math.sqrt(sum / buf.length) * 4));
  }, 66);
  return () => { clearInterval(timer); src.disconnect(); ctx.close(); };
}
