// Convene web app: the prejoin screen — name, camera preview, microphone level, device choice.
import { getTrack, listDevices, meterLevel } from '/sdk/convene.js';
import { $, icon, show, fillSelect, deviceMessage } from './dom.js';
import { startMeeting } from './meeting.js';

/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */

/** @param {string} room */
export async function initPrejoin(room) {
  const params = new URLSearchParams(location.search);
  const nameInput = /** @type {HTMLInputElement} */ ($('name-input'));
  const audioSel = /** @type {HTMLSelectElement} */ ($('pre-audio'));
  const videoSel = /** @type {HTMLSelectElement} */ ($('pre-video'));
  const video = /** @type {HTMLVideoElement} */ ($('preview-video'));
  const prefs = {
    mic: params.get('mic') !== '0' && localStorage.getItem('convene:mic') !== '0',
    cam: params.get('cam') !== '0' && localStorage.getItem('convene:cam') !== '0',
    audioDeviceId: localStorage.getItem('convene:audioDevice') || undefined,
    videoDeviceId: localStorage.getItem('convene:videoDevice') || undefined,
  };
  if (params.get('mic') === '1') prefs.mic = true;
  if (params.get('cam') === '1') prefs.cam = true;
  nameInput.value = params.get('name') || localStorage.getItem('convene:name') || '';
  document.title = `${room} · Convene`;
  const resumeToken = sessionStorage.getItem(`convene:resume:${room}`);

  if (params.get('autojoin') === '1' && nameInput.value.trim() || resumeToken && nameInput.value.trim()) {
    startMeeting(room, nameInput.value.trim(), prefs, null, null);
    return;
  }

  show('prejoin');
  $('pre-room').textContent = room;
  /** @type {MediaStreamTrack | null} */ let audio = null;
  /** @type {MediaStreamTrack | null} */ let cam = null;
  /** @type {(() => void) | null} */ let stopMeter = null;
  const err = $('pre-error');
  /** @param {string} m */
  const addErr = (m) => { err.textContent = err.hidden ? m : `${err.textContent} ${m}`; err.hidden = false; };

  const paint = () => {
    const mb = $('pre-mic'), cb = $('pre-cam');
    mb.innerHTML = icon(prefs.mic ? 'mic' : 'micOff');
    mb.setAttribute('aria-pressed', String(prefs.mic));
    mb.setAttribute('aria-label', prefs.mic ? 'Turn microphone off' : 'Turn microphone on');
    mb.classList.toggle('off', !prefs.mic);
    cb.innerHTML = icon(prefs.cam ? 'cam' : 'camOff');
    cb.setAttribute('aria-pressed', String(prefs.cam));
    cb.setAttribute('aria-label', prefs.cam ? 'Turn camera off' : 'Turn camera on');
    cb.classList.toggle('off', !prefs.cam);
    $('preview-off').hidden = !!(prefs.cam && cam);
    video.hidden = !(prefs.cam && cam);
  };

  const openAudio = async () => {
    stopMeter?.(); stopMeter = null; audio?.stop(); audio = null;
    if (!prefs.mic) { /** @type {HTMLElement} */ ($('pre-meter')).style.width = '0'; return; }
    try {
      audio = await getTrack('microphone', prefs.audioDeviceId);
      stopMeter = meterLevel(audio, (l) => { $('pre-meter').style.width = `${Math.round(l * 100)}%`; });
    } catch (e) {
      addErr(deviceMessage(/** @type {MediaAccessError} */ (e)));
      prefs.mic = false;
    }
  };
  const openVideo = async () => {
    cam?.stop(); cam = null;
    if (prefs.cam) {
      try {
        cam = await getTrack('camera', prefs.videoDeviceId);
        video.srcObject = new MediaStream([cam]);
      } catch (e) {
        addErr(deviceMessage(/** @type {MediaAccessError} */ (e)));
        prefs.cam = false;
      }
    }
    paint();
  };
  const fillDevices = async () => {
    const d = await listDevices();
    fillSelect(audioSel, d.audioinput, audio?.getSettings().deviceId || prefs.audioDeviceId, 'Microphone');
    fillSelect(videoSel, d.videoinput, cam?.getSettings().deviceId || prefs.videoDeviceId, 'Camera');
  };

  paint();
  await Promise.all([openAudio(), openVideo()]);
  paint();
  await fillDevices();

  $('pre-mic').addEventListener('click', async () => { prefs.mic = !prefs.mic; await openAudio(); paint(); });
  $('pre-cam').addEventListener('click', async () => { prefs.cam = !prefs.cam; await openVideo(); });
  audioSel.addEventListener('change', async () => { prefs.audioDeviceId = audioSel.value; localStorage.setItem('convene:audioDevice', audioSel.value); await openAudio(); });
  videoSel.addEventListener('change', async () => { prefs.videoDeviceId = videoSel.value; localStorage.setItem('convene:videoDevice', videoSel.value); await openVideo(); });
  $('prejoin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = nameInput.value.trim().replace(/\s+/g, ' ');
    if (!name) { nameInput.focus(); return; }
    localStorage.setItem('convene:name', name);
    localStorage.setItem('convene:mic', prefs.mic ? '1' : '0');
    localStorage.setItem('convene:cam', prefs.cam ? '1' : '0');
    stopMeter?.();
    startMeeting(room, name, prefs, prefs.mic ? audio : (audio?.stop(), null), prefs.cam ? cam : (cam?.stop(), null));
  });
  nameInput.focus();
}
