// Convene browser SDK: the devices of a join — the microphone and the camera open while the server admits
// us (neither waits for the other), and what a device that fails or opens late does to the meeting.
import { getTrack } from './devices.js';
import { joinMark } from './marks.js';
import { publishRefusal } from './moderation.js';

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./util.js').MediaAccessError} MediaAccessError */

/** The microphone and the camera of the join, both at once. @param {Convene} c */
export async function openJoinMedia(c) {
  const o = c.opts;
  await Promise.all([
    o.mic && !c.localTracks.microphone ? openOne(c, 'microphone', o.audioTrack, o.audioDeviceId) : null,
    o.camera && !c.localTracks.camera ? openOne(c, 'camera', o.videoTrack, o.videoDeviceId) : null,
  ]);
  joinMark('media');
}

/**
 * One device of the join. The join message carries the mute state known when it goes out; a device that
 * fails after that is announced muted (at `joined` when it failed before: see `announceMuted`), and one that
 * opens after the peer connection exists is handed to it. A viewer (or a host-muted source, on a resume)
 * keeps nothing open.
 * @param {Convene} c @param {'microphone'|'camera'} source @param {MediaStreamTrack | undefined} given
 * @param {string | undefined} deviceId
 */
async function openOne(c, source, given, deviceId) {
  const key = source === 'microphone' ? 'mic' : 'camera';
  /** @type {MediaStreamTrack} */
  let track;
  try {
    track = given || await getTrack(source, deviceId);
  } catch (e) {
    failed(c, /** @type {MediaAccessError} */ (e));
    c.muted[key] = true;
    c._send({ type: 'set_muted', [key]: true });
    if (c._peer.pc) c._emit('localtrackchanged', { source, track: null });
    return;
  }
  if (c._left) { track.stop(); return; } // left (or shut down) while the device opened
  if (publishRefusal(c, source)) { track.stop(); c.muted[key] = true; return; }
  c.localTracks[source] = track;
  if (!c._peer.pc) return; // the peer connection, when it starts, sends it
  if (source === 'microphone') track.enabled = !c.muted.mic;
  await c._peer.replaceTrack(source, track);
  c._emit('localtrackchanged', { source, track });
}

/** @param {Convene} c @param {MediaAccessError} e */
function failed(c, e) {
  c.mediaErrors.push(e);
  c._emit('error', { code: e.denied ? 'media_denied' : 'media_unavailable', message: e.message, request: e.source, fatal: false });
}

/**
 * At `joined`: a device that failed while the server admitted us (or while we waited in the lobby, when
 * nothing but `leave` may be sent) is announced muted now. @param {Convene} c
 */
export function announceMuted(c) {
  const me = c.me;
  if (!me) return;
  /** @type {Record<string, boolean>} */
  const fix = {};
  if (c.muted.mic && !me.mic_muted) fix.mic = true;
  if (c.muted.camera && !me.camera_muted) fix.camera = true;
  if (Object.keys(fix).length) c._send({ type: 'set_muted', ...fix });
}
