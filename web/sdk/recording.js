// Convene browser SDK: whether the meeting is being recorded (docs/protocol.md, *Recording*). A joiner
// learns it in `joined.recording` (before any media flows); then `recording_started` and
// `recording_stopped` tell everyone. `startRecording()` / `stopRecording()` are host powers (moderation.js).

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').RecordingStatus} RecordingStatus */
/** @typedef {import('./types.js').RecordingStopReason} RecordingStopReason */

/** The reasons this SDK knows; a newer server's are reported as `failed` (the recording did stop). */
const REASONS = ['stopped', 'disk_full', 'failed'];

/** @param {any} r @returns {RecordingStatus | null} */
const statusOf = (r) => (r && typeof r === 'object'
  ? { since: Number(r.since) || 0, ...(typeof r.by_name === 'string' ? { byName: r.by_name } : {}) }
  : null);

/**
 * Sets the state and tells the app when it changed (a resume that finds it as it was says nothing).
 * @param {Convene} c @param {RecordingStatus | null} recording @param {RecordingStopReason} [reason]
 */
function setRecording(c, recording, reason) {
  const previous = c.recording;
  c.recording = recording;
  if (!!previous === !!recording && previous?.since === recording?.since) return;
  c._emit('recordingchanged', { recording, previous, ...(reason ? { reason } : {}) });
}

/** `joined` (the first and every resume). @param {Convene} c @param {any} msg */
export function onJoinedRecording(c, msg) {
  c.recordPower = msg.record_power === 'moderator' || msg.record_power === 'grant' ? msg.record_power : 'none';
  setRecording(c, statusOf(msg.recording));
}

/** Whether we may start and stop recording now (`joined.record_power`, and our role now). @param {Convene} c */
export function mayRecord(c) {
  const role = c.me?.role;
  return c.recordPower === 'grant' || (c.recordPower === 'moderator' && (role === 'host' || role === 'co_host'));
}

/** `recording_started`. @param {Convene} c @param {any} msg */
export function onRecordingStarted(c, msg) {
  setRecording(c, statusOf(msg.recording) || { since: Date.now() });
}

/** `recording_stopped`: `reason` is `stopped`, `disk_full` or `failed`. @param {Convene} c @param {any} msg */
export function onRecordingStopped(c, msg) {
  const reason = /** @type {RecordingStopReason} */ (msg.reason === undefined ? 'stopped' : REASONS.includes(msg.reason) ? msg.reason : 'failed');
  setRecording(c, null, reason);
}
