// Convene browser SDK: host powers and what they do to you (docs/protocol.md, *Roles and permissions* and
// *Host mute, removal, end*). `HostPowers` holds the methods that send the host powers' messages (Convene
// extends it); the functions below apply a host mute and the viewer role to what this client sends, so
// that the page shows what the others get.

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').Source} Source */
/** @typedef {import('./types.js').Role} Role */
/** @typedef {import('./types.js').Participant} Participant */

/**
 * A publishing call refused before anything was sent: `code` is `muted_by_host` (a host muted `source`:
 * `askToUnmute` and wait to be allowed) or `forbidden` (a viewer publishes nothing).
 */
export class ModerationError extends Error {
  /** @param {'muted_by_host' | 'forbidden'} code @param {Source} source @param {string} message */
  constructor(code, source, message) {
    super(message);
    this.name = 'ModerationError';
    this.code = code;
    this.source = source;
  }
}

/**
 * The methods of the host powers. Each sends one message and returns whether it went out (false while not
 * connected); the server answers with its effects (`participantupdated`, `lobbyupdated`, ...) or refuses
 * with an `error` event whose `request` names the message (`forbidden` when your role does not allow it,
 * `not_found` for someone no longer here).
 */
export class HostPowers extends EventTarget {
  /** Sends a message on the signaling connection (Convene's). @param {Record<string, unknown>} _msg @returns {boolean} */
  _send(_msg) {
    return false;
  }

  /** Stop forwarding one source of someone (`screen` covers its audio); they cannot unmute it until allowed. @param {string} participantId @param {Source} source */
  muteParticipant(participantId, source) {
    return this._send({ type: 'mute_participant', participant_id: participantId, source });
  }

  /** Mute the microphone (or camera) of everyone but hosts and co-hosts. @param {'microphone'|'camera'} [source] */
  muteAll(source = 'microphone') {
    return this._send({ type: 'mute_all', source });
  }

  /** Let someone unmute a source a host muted (they unmute it themselves). @param {string} participantId @param {Source} source */
  allowUnmute(participantId, source) {
    return this._send({ type: 'allow_unmute', participant_id: participantId, source });
  }

  /** Ask the hosts to let you unmute a source they muted (you appear in their `unmute_asked`). @param {Source} source */
  askToUnmute(source) {
    return this._send({ type: 'ask_to_unmute', source });
  }

  /** Disconnect someone; they cannot come back to this meeting. @param {string} participantId */
  removeParticipant(participantId) {
    return this._send({ type: 'remove_participant', participant_id: participantId });
  }

  /** Start recording the meeting (hosts, co-hosts and `record` grants); everyone gets `recordingchanged`. */
  startRecording() {
    return this._send({ type: 'start_recording' });
  }

  /** Stop recording the meeting (hosts, co-hosts and `record` grants). */
  stopRecording() {
    return this._send({ type: 'stop_recording' });
  }

  /** End the meeting for everyone (host only). */
  endMeeting() {
    return this._send({ type: 'end_meeting' });
  }

  /** Make someone a co-host, participant or viewer (host only). @param {string} participantId @param {'co_host'|'participant'|'viewer'} role */
  setRole(participantId, role) {
    return this._send({ type: 'set_role', participant_id: participantId, role });
  }

  /** Hand the host role to someone; you become a co-host (host only). @param {string} participantId */
  transferHost(participantId) {
    return this._send({ type: 'transfer_host', participant_id: participantId });
  }

  /** Lower someone's raised hand. @param {string} participantId */
  lowerHand(participantId) {
    return this._send({ type: 'lower_hand', participant_id: participantId });
  }

  /** Lock (nobody new gets in) or unlock the meeting. @param {boolean} locked */
  setLocked(locked) {
    return this._send({ type: 'set_locked', locked });
  }

  /** Turn the lobby on or off for newcomers (turning it off admits nobody already waiting). @param {boolean} enabled */
  setLobby(enabled) {
    return this._send({ type: 'set_lobby', enabled });
  }

  /** Let someone waiting in the lobby in. @param {string} participantId */
  admit(participantId) {
    return this._send({ type: 'admit', participant_id: participantId });
  }

  /** Turn someone waiting in the lobby away. @param {string} participantId */
  deny(participantId) {
    return this._send({ type: 'deny', participant_id: participantId });
  }

  /** Let everyone waiting in the lobby in. */
  admitAll() {
    return this._send({ type: 'admit_all' });
  }
}

/** Host or co-host: may moderate. @param {Role | undefined} role */
export const moderates = (role) => role === 'host' || role === 'co_host';

/**
 * Why this client may not start sending `source` now, or null when it may. @param {Convene} c @param {Source} source
 * @returns {ModerationError | null}
 */
export function publishRefusal(c, source) {
  const me = c.me;
  if (me?.role === 'viewer') return new ModerationError('forbidden', source, 'a viewer publishes nothing');
  if (!granted(c, source)) return new ModerationError('forbidden', source, `your access token does not grant publishing ${source}`);
  const by = source === 'screen_audio' ? 'screen' : source;
  if (hostMuted(c, by)) return new ModerationError('muted_by_host', source, `a host muted your ${by}: ask to unmute it`);
  return null;
}

/**
 * Whether our access token lets us publish `source` (`joined.publish_sources`; a server that does not say
 * grants everything). @param {Convene} c @param {Source} source
 */
export function granted(c, source) {
  return !c.publishSources || c.publishSources.includes(source);
}

/**
 * Whether this client's m-line for `source` may send: not a viewer, and granted. A host mute does not
 * count here (the m-line stays, the track is what stops). @param {Convene} c @param {Source} source
 */
export function mayPublish(c, source) {
  return c.me?.role !== 'viewer' && granted(c, source);
}

/**
 * Whether a host muted `source` of this client and has not allowed it to unmute since. @param {Convene} c
 * @param {Source} source
 */
export function hostMuted(c, source) {
  return (c.me?.host_muted || []).includes(source) && !c.unmuteAllowed.has(source);
}

/**
 * Stops sending `source` here, as a host mute of it does on the server: the microphone track is disabled, the
 * camera turned off (its light goes out), the screen share stopped. @param {Convene} c @param {Source} source
 */
export async function stopSending(c, source) {
  if (source === 'microphone') {
    const t = c.localTracks.microphone;
    const changed = !c.muted.mic || !!t?.enabled;
    if (t) t.enabled = false;
    c.muted.mic = true;
    if (changed) c._emit('localtrackchanged', { source: 'microphone', track: t });
  } else if (source === 'camera') {
    c.muted.camera = true;
    if (c.localTracks.camera) await c._setLocal('camera', null);
  } else if (c.localTracks.screen || c.localTracks.screen_audio) {
    await c.stopScreenShare();
  }
}

/**
 * Brings what this client sends in line with how the server now describes it (after `joined`, and before
 * the app hears of each change to it): host-muted sources stop, and a new viewer stops everything and
 * renegotiates so that its next offer sends nothing; a former viewer may publish again.
 * @param {Convene} c @param {Participant | null} previous how it was described before (null: not known)
 */
export function applyOwnState(c, previous) {
  const me = c.me;
  if (!me) return;
  const failed = (/** @type {unknown} */ e) => c._peer._failed(e);
  // What a host allowed back is ours again once the server no longer lists it.
  for (const s of [...c.unmuteAllowed]) if (!(me.host_muted || []).includes(s)) c.unmuteAllowed.delete(s);
  for (const source of me.host_muted || []) if (hostMuted(c, source) && sending(c, source)) stopSending(c, source).catch(failed);
  // A source our token does not grant keeps no device open: its m-line sends nothing anyway.
  for (const source of /** @type {const} */ (['microphone', 'camera'])) {
    if (!granted(c, source) && (sending(c, source) || c.localTracks[source])) release(c, source).catch(failed);
  }
  const wasViewer = previous?.role === 'viewer';
  if (me.role === 'viewer') {
    if (!wasViewer || sending(c, 'microphone') || sending(c, 'camera') || sending(c, 'screen')) stopAll(c).catch(failed);
    // Also when the role is not new: a kept peer connection may still have sending m-lines.
    c._peer.setPublishing(false);
  } else if (wasViewer) {
    c._peer.setPublishing(true);
  }
  if (previous && moderates(previous.role) && !moderates(me.role) && c.waiting.length) {
    // The lobby's updates go to hosts and co-hosts only: the list would go stale.
    c.waiting = [];
    c._emit('lobbyupdated', { waiting: [], added: [] });
  }
}

/**
 * Closes the device of `source`, announced muted (the others never see it as on).
 * @param {Convene} c @param {'microphone' | 'camera'} source
 */
async function release(c, source) {
  const key = source === 'microphone' ? 'mic' : 'camera';
  c.muted[key] = true;
  if (c.me && !c.me[source === 'microphone' ? 'mic_muted' : 'camera_muted']) c._send({ type: 'set_muted', [key]: true });
  if (c.localTracks[source]) await c._setLocal(source, null);
}

/** A viewer keeps no device open: nothing of it would be sent. @param {Convene} c */
async function stopAll(c) {
  const mic = c.localTracks.microphone;
  c.muted.mic = true;
  c.muted.camera = true;
  // The others are told, so that nobody shows a viewer's microphone as on.
  /** @type {Record<string, boolean>} */
  const tell = {};
  if (c.me && !c.me.mic_muted) tell.mic = true;
  if (c.me && !c.me.camera_muted) tell.camera = true;
  if (Object.keys(tell).length) c._send({ type: 'set_muted', ...tell });
  if (mic) await c._setLocal('microphone', null);
  if (c.localTracks.camera) await c._setLocal('camera', null);
  await stopSending(c, 'screen');
}

/** Whether this client sends `source` now. @param {Convene} c @param {Source} source */
function sending(c, source) {
  if (source === 'microphone') return !c.muted.mic;
  if (source === 'camera') return !c.muted.camera;
  return !!(c.localTracks.screen || c.localTracks.screen_audio);
}

/** `moderated`: a host acted on this client. A mute applies at once, before the participant update. @param {Convene} c @param {any} msg */
export function onModerated(c, msg) {
  if (msg.action === 'muted' && msg.source) {
    c.unmuteAllowed.delete(msg.source);
    stopSending(c, msg.source).catch((e) => c._peer._failed(e));
  } else if (msg.action === 'unmute_allowed' && msg.source) {
    c.unmuteAllowed.add(msg.source);
  }
  c._emit('moderated', {
    action: msg.action,
    ...(msg.source ? { source: msg.source } : {}),
    ...(msg.role ? { role: msg.role } : {}),
    ...(msg.by_name ? { byName: msg.by_name } : {}),
  });
}
