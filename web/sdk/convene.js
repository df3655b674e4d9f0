// Convene browser SDK: signaling, reconnection, publishing and adaptive subscribing over one
// RTCPeerConnection to the Convene SFU. Plain ES modules, no dependencies. See docs/sdk.md.
//
// This file is the public entry: the `Convene` class (state, events, the public methods) and every export.
// The work is done by signaling.js (WebSocket, resume, pings), peer.js (the peer connection, publishing,
// negotiation), subscriptions.js (remote tracks, attachVideo, constraints) and devices.js (local devices).
import { Signaling, backoffDelay, isRetryable, DEFAULT_BACKOFF_MAX_MS } from './signaling.js';
import { Peer, SIMULCAST_LAYERS } from './peer.js';
import { Subscriptions } from './subscriptions.js';
import { getTrack, listDevices, meterLevel } from './devices.js';
import { JoinError, MediaAccessError, randomRoomName } from './util.js';
import { canonicalRoomName, checkDisplayName, DISPLAY_NAME_MAX, ROOM_NAME_MAX } from './names.js';
import { onServerMessage } from './messages.js';
import { REACTIONS, isReaction } from './reactions.js';
import { QualityMonitor, QUALITY_THRESHOLDS, QUALITY_SAMPLE_MS } from './quality.js';
import { joinMark } from './marks.js';
import { HostPowers, ModerationError, applyOwnState, publishRefusal, moderates, hostMuted } from './moderation.js';
import { onJoinedLobby } from './lobby.js';
import { openJoinMedia, announceMuted } from './join-media.js';
import { FileError, onJoinedFiles, upload, fileUrl } from './files.js';
import { mayRecord, onJoinedRecording } from './recording.js';

export {
  SIMULCAST_LAYERS, getTrack, listDevices, meterLevel, JoinError, MediaAccessError, randomRoomName,
  canonicalRoomName, checkDisplayName, DISPLAY_NAME_MAX, ROOM_NAME_MAX, backoffDelay, DEFAULT_BACKOFF_MAX_MS,
  REACTIONS, isReaction, QUALITY_THRESHOLDS, QUALITY_SAMPLE_MS, ModerationError, moderates, hostMuted, FileError,
};

/** @typedef {import('./types.js').Source} Source */
/** @typedef {import('./types.js').Role} Role */
/** @typedef {import('./types.js').ConnectionState} ConnectionState */
/** @typedef {import('./types.js').ReconnectReason} ReconnectReason */
/** @typedef {import('./types.js').TrackInfo} TrackInfo */
/** @typedef {import('./types.js').Participant} Participant */
/** @typedef {import('./types.js').ChatMessage} ChatMessage */
/** @typedef {import('./types.js').RemoteTrack} RemoteTrack */
/** @typedef {import('./types.js').ConveneEventMap} ConveneEventMap */
/** @typedef {import('./types.js').ConveneOptions} ConveneOptions */
/** @typedef {import('./types.js').Reaction} Reaction */
/** @typedef {import('./types.js').QualityInfo} QualityInfo */
/** @typedef {import('./types.js').LobbyEntry} LobbyEntry */
/** @typedef {import('./types.js').MeetingSettings} MeetingSettings */
/** @typedef {import('./types.js').ModerationAction} ModerationAction */
/** @typedef {import('./types.js').SharedFile} SharedFile */
/** @typedef {import('./types.js').RecordingStatus} RecordingStatus */
/**
 * @template {keyof ConveneEventMap} K
 * @typedef {import('./types.js').ConveneEvent<K>} ConveneEvent
 */

/**
 * The client. Create one per meeting, `await join()`, listen to events, `leave()` at the end.
 *
 * @example
 * const c = new Convene({ room: 'team-sync', displayName: 'Ada' });
 * c.addEventListener('trackadded', (e) => { ... e.detail.track ... });
 * await c.join();
 */
export class Convene extends HostPowers {
  /** @param {ConveneOptions} opts */
  constructor(opts) {
    super();
    this.opts = { mic: true, camera: true, simulcast: true, ...opts };
    /** @type {ConnectionState} */
    this.state = 'disconnected';
    /** @type {string} the room's name; after `joined`, as the server spells it (canonical) */
    this.room = opts.room;
    /** @type {string | null} */
    this.participantId = null;
    /** @type {string | null} */
    this.resumeToken = opts.resumeToken || null;
    /** @type {Map<string, Participant>} everyone in the room, you included */
    this.participants = new Map();
    /** @type {ChatMessage[]} */
    this.chat = [];
    /** @type {string | null} */
    this.dominantSpeaker = null;
    /** @type {Map<string, RemoteTrack>} remote tracks by mid */
    this.remoteTracks = new Map();
    /** @type {{ microphone: MediaStreamTrack|null, camera: MediaStreamTrack|null, screen: MediaStreamTrack|null, screen_audio: MediaStreamTrack|null }} */
    this.localTracks = { microphone: null, camera: null, screen: null, screen_audio: null };
    /** @type {{ mic: boolean, camera: boolean }} what the others are told */
    this.muted = { mic: !this.opts.mic, camera: !this.opts.camera };
    /** @type {Map<string, string>} own track id by source, from track_published */
    this.ownTrackIds = new Map();
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    this.resumeWindowMs = 30_000;
    /** how long a lost connection is retried: the option, else the server's restart window (it outlasts a restart or crash) */
    this.reconnectWindowMs = this.opts.reconnectWindowMs ?? 300_000;
    /** @type {ReconnectReason | null} why the client is reconnecting (null when it is not) */
    this.reconnectReason = null;
    /** @type {MediaAccessError[]} failures while opening devices at join */
    this.mediaErrors = [];
    /** @type {Map<string, QualityInfo>} connection quality by participant id, you included (see `qualitychange`) */
    this.quality = new Map();
    /** whether `join()` waits in the lobby now; `hostPresent`: whether someone who can admit us is here */
    this.inLobby = false;
    this.hostPresent = false;
    /** @type {LobbyEntry[]} hosts and co-hosts: who waits in the lobby, longest first (see `lobbyupdated`) */
    this.waiting = [];
    /** @type {MeetingSettings} whether the meeting is locked and newcomers wait in the lobby */
    this.settings = { locked: false, lobby: false };
    /**
     * What our access token lets us publish (from `joined`); null until then.
     * @type {import('./types.js').Source[] | null}
     */
    this.publishSources = null;
    /** @type {SharedFile[]} the meeting's shared files, oldest first (see `fileshared`, `filedeleted`) */
    this.files = [];
    /** @type {{ token: string, max_file_bytes: number, max_meeting_bytes: number } | null} from `joined`; null when the server takes no files */
    this.fileAccess = null;
    /** @type {RecordingStatus | null} while the meeting is being recorded (see `recordingchanged`) */
    this.recording = null;
    /** @type {import('./types.js').RecordPower} who may record, from `joined` (see `mayRecord`) */
    this.recordPower = 'none';
    /** @type {Set<Source>} host-muted sources a host allowed us to unmute (`moderated` `unmute_allowed`) */
    this.unmuteAllowed = new Set();

    this._left = false;
    this._msgId = 0;
    this._signaling = new Signaling(this);
    this._peer = new Peer(this);
    this._subs = new Subscriptions(this);
    this._quality = new QualityMonitor(this);
  }

  /**
   * @template {keyof ConveneEventMap} K
   * @param {K} type
   * @param {(ev: ConveneEvent<K>) => void} listener
   * @param {boolean | AddEventListenerOptions} [options]
   */
  on(type, listener, options) {
    this.addEventListener(type, /** @type {EventListener} */ (listener), options);
    return () => this.removeEventListener(type, /** @type {EventListener} */ (listener));
  }

  /**
   * @template {keyof ConveneEventMap} K
   * @param {K} type @param {ConveneEventMap[K]} detail
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * @param {ConnectionState} s
   * @param {ReconnectReason} [reason] with `reconnecting`: why
   * @param {boolean} [force] emit even when only the reason changed
   */
  _setState(s, reason, force) {
    if (s === this.state && !force) return;
    const previous = this.state;
    this.state = s;
    this.reconnectReason = s === 'reconnecting' ? reason || 'connection_lost' : null;
    this._emit('connectionstatechange', { state: s, previous, ...(this.reconnectReason ? { reason: this.reconnectReason } : {}) });
  }

  /**
   * While reconnecting: try again now instead of waiting for the next backoff step (a "Try now" button).
   * @returns {boolean} false when the client is not waiting to retry (not reconnecting, or an attempt is under way)
   */
  reconnectNow() {
    if (this.state !== 'reconnecting') return false;
    return this._signaling.wakeNow();
  }

  /** @param {Record<string, unknown>} msg @returns {boolean} whether it went out */
  _send(msg) {
    return this._signaling.send(msg);
  }

  /** The local participant as the server last described it. */
  get me() {
    return this.participantId ? this.participants.get(this.participantId) || null : null;
  }

  /** Whether we may start and stop recording now (`joined.record_power` and our role now). */
  get mayRecord() {
    return mayRecord(this);
  }

  /** The peer connection (for statistics); null before the first offer. */
  get peerConnection() {
    return this._peer.pc;
  }

  // ───────────────────────────── joining and leaving ─────────────────────────────

  /**
   * Opens the devices asked for while it connects and joins (neither waits for the other), and resolves with the
   * `joined` message once both are done. Device failures are kept in `mediaErrors` and reported as `error`
   * events; the meeting goes on without them (the others are told the device is muted as soon as it fails).
   * Rejects with a {@link JoinError} when the server refuses (room_full, ...) or cannot be reached; the
   * state is then `disconnected` again and the local tracks are stopped.
   */
  async join() {
    this._left = false;
    joinMark('join');
    this._setState('connecting');
    // The socket first: the server's admission is the longest wait. Meanwhile the devices open, and the
    // peer connection and its first offer are made.
    const connecting = this._signaling.connect(false);
    const media = openJoinMedia(this);
    if (!this._peer.pc) this._peer.prepare();
    let joined;
    try {
      joined = await connecting;
    } catch (e) {
      const err = /** @type {JoinError} */ (e);
      // Coming back with a resume token (a reload) while the server restarts or the network is gone: wait
      // for it as a lost connection would, instead of ending on "cannot reach the server".
      if (this.resumeToken && !this._left && isRetryable(err.code)) {
        joined = await this._signaling.retry(err.code === 'unreachable' ? 'connection_lost' : 'server_restarting');
        if (!joined) throw err; // it ended (and said why with `closed`)
      } else {
        // Refused or unreachable: give the devices back (the camera light goes out) and end up disconnected.
        // A device still opening (a permission prompt may stay open) closes itself when it comes.
        this._left = true;
        this._peer.close();
        this._stopLocalTracks();
        this._setState('disconnected');
        throw e;
      }
    }
    await media;
    this._signaling.startPings();
    return joined;
  }

  _stopLocalTracks() {
    for (const k of /** @type {Source[]} */ (Object.keys(this.localTracks))) {
      this.localTracks[k]?.stop();
      this.localTracks[k] = null;
    }
  }

  /** Called by the signaling for each `joined` (the first and every resume). @param {any} msg @param {boolean} resuming */
  _onJoined(msg, resuming) {
    const sameParticipant = this.participantId === msg.participant_id;
    this.participantId = msg.participant_id;
    // The server's canonical form of the name asked for (NFKC, lower case).
    if (typeof msg.room === 'string' && msg.room) this.room = msg.room;
    this.resumeToken = msg.resume_token;
    this.resumeWindowMs = (msg.resume_window_secs || 30) * 1000;
    // A server that predates restart windows honours the token only for the resume window.
    this.reconnectWindowMs = this.opts.reconnectWindowMs ?? Math.max(this.resumeWindowMs, (msg.restart_window_secs || 0) * 1000);
    this.iceServers = msg.ice_servers || [];
    this.publishSources = msg.publish_sources || null;
    const before = new Map(this.participants);
    this.participants.clear();
    for (const p of msg.participants) this.participants.set(p.id, p);
    onJoinedLobby(this, msg);
    onJoinedFiles(this, msg);
    onJoinedRecording(this, msg);
    // Host mutes and the viewer role apply to what we send (before the peer connection's first offer).
    applyOwnState(this, sameParticipant ? before.get(msg.participant_id) || null : null);
    announceMuted(this);
    if (resuming && sameParticipant) {
      // Tell the app what changed while we were away.
      for (const [id, p] of before) {
        if (!this.participants.has(id)) this._emit('participantleft', { participant: p, reason: 'left' });
      }
      for (const [id, p] of this.participants) {
        const old = before.get(id);
        if (!old) this._emit('participantjoined', { participant: p });
        else if (JSON.stringify(old) !== JSON.stringify(p)) this._emit('participantupdated', { participant: p, previous: old });
      }
      this._mergeChat(msg.chat_history || []);
    } else {
      this.chat = [...(msg.chat_history || [])];
    }
    // `media_kept: false`: the server holds no media session for us (a fresh join, a restarted server, a
    // reload): a new peer connection and a first offer that republishes what we send now. A server that
    // does not say (older) keeps the session exactly when it resumed the same participant. Before the
    // events: the offer is made off the main thread while the app renders the meeting.
    const pc = this._peer.pc;
    const kept = msg.media_kept ?? sameParticipant;
    // With the session kept, a path that broke (even to `failed`: a network change) is mended by an ICE
    // restart, which keeps every track; an offer left unanswered on the old socket is taken back first.
    if (!pc || !kept || pc.connectionState === 'closed') {
      this._peer.start();
    } else if (this._peer._offerPending || (pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed')) {
      this._peer.resumeIce();
    }
    this._setState('connected');
    this._quality.resetReport();
    this._quality.start();
    this._emit('joined', { participantId: msg.participant_id, resumed: !!msg.resumed, participants: [...this.participants.values()], chatHistory: this.chat });
  }

  /**
   * Adds the messages of a resumed session's history that this client has not seen (by `seq`: the
   * server's order), keeping `chat` sorted, and emits `chat` for each. @param {ChatMessage[]} history
   */
  _mergeChat(history) {
    const seen = new Set(this.chat.map((m) => m.seq));
    const fresh = history.filter((m) => !seen.has(m.seq));
    if (!fresh.length) return;
    this.chat = [...this.chat, ...fresh].sort((x, y) => x.seq - y.seq);
    for (const m of fresh) this._emit('chat', { message: m, own: m.from === this.participantId });
  }

  /** Leave the meeting on purpose: the others see you leave at once. Stops local tracks. */
  async leave() {
    if (this._left) return;
    this._left = true;
    await this._signaling.leave();
    this._shutdown('left');
  }

  /** @param {string} reason */
  _shutdown(reason) {
    this._left = true;
    this._signaling.close();
    this._peer.close();
    this._stopLocalTracks();
    this._subs.disconnect();
    this._quality.stop();
    this.quality.clear();
    this._setState('disconnected');
    this._emit('closed', { reason });
  }

  /** Called by the signaling for every message after `joined`. @param {any} msg */
  _onMessage(msg) {
    onServerMessage(this, msg);
  }

  // ───────────────────────────── chat and state ─────────────────────────────

  /**
   * Send a chat message to everyone. Resolves when the server has stored and broadcast it.
   * @param {string} text
   * @returns {Promise<ChatMessage>}
   */
  sendChat(text) {
    const id = `c-${++this._msgId}`;
    return new Promise((resolve, reject) => {
      /** @param {ConveneEvent<'chat'>} e */
      const onChat = (e) => { if (e.detail.message.client_msg_id === id && e.detail.own) { done(); resolve(e.detail.message); } };
      /** @param {ConveneEvent<'error'>} e */
      const onErr = (e) => { if (e.detail.request === 'chat_send') { done(); reject(new Error(e.detail.message)); } };
      const offChat = this.on('chat', onChat);
      const offErr = this.on('error', onErr);
      const timer = setTimeout(() => { done(); reject(new Error('chat not acknowledged')); }, 10_000);
      const done = () => { offChat(); offErr(); clearTimeout(timer); };
      if (!this._send({ type: 'chat_send', text, client_msg_id: id })) { done(); reject(new Error('not connected')); }
    });
  }

  /**
   * Share a file with everyone: uploaded over HTTP, then announced (`fileshared`, to you too). Resolves with
   * the file once the server has recorded it; rejects with a `FileError` (its `code`: the server's, e.g.
   * `file_too_large`, `file_quota_exceeded`, `image_too_large`, `forbidden`; or `aborted`, `network`).
   * @param {Blob & { name?: string }} file
   * @param {(sent: number, total: number) => void} [onProgress]
   * @returns {{ done: Promise<SharedFile>, cancel: () => void }}
   */
  shareFile(file, onProgress) {
    return upload(this, file, onProgress);
  }

  /** Hosts and co-hosts: delete a shared file for everyone. @param {string} fileId @returns {boolean} whether it went out */
  deleteFile(fileId) {
    return this._send({ type: 'delete_file', file_id: fileId });
  }

  /** Where to download a shared file (or its preview), with this participant's file token. @param {string} fileId @param {boolean} [preview] */
  fileUrl(fileId, preview = false) {
    return fileUrl(this, fileId, preview);
  }

  /** @param {boolean} raised */
  setHandRaised(raised) {
    this._send({ type: 'set_hand', raised });
  }

  /**
   * Send a reaction to everyone (you get it back as a `reaction` event too). The server limits how many
   * (a few in a row, then about one a second): one over it is dropped and reported as an `error` event
   * with code `rate_limited` and request `send_reaction`.
   * @param {Reaction} emoji one of `REACTIONS`; anything else throws a RangeError
   * @returns {boolean} whether it went out (false while not connected)
   */
  sendReaction(emoji) {
    if (!isReaction(emoji)) throw new RangeError(`not a reaction: use one of ${REACTIONS.join(' ')}`);
    return this._send({ type: 'send_reaction', emoji });
  }

  // ───────────────────────────── local media ─────────────────────────────

  /**
   * Mute or unmute the microphone. Unmuting opens the microphone if it was never opened.
   * @param {boolean} enabled
   */
  async setMicEnabled(enabled) {
    if (enabled) this._mayPublish('microphone');
    if (enabled && !this.localTracks.microphone) {
      const t = await getTrack('microphone', this.opts.audioDeviceId);
      await this._setLocal('microphone', t);
    }
    if (this.localTracks.microphone) this.localTracks.microphone.enabled = enabled;
    this.muted.mic = !enabled;
    this._send({ type: 'set_muted', mic: !enabled });
  }

  /**
   * Turn the camera on or off. Off stops the device (its light goes out); on opens it again.
   * @param {boolean} enabled
   */
  async setCameraEnabled(enabled) {
    if (enabled) {
      this._mayPublish('camera');
      if (!this.localTracks.camera) {
        const t = await getTrack('camera', this.opts.videoDeviceId);
        await this._setLocal('camera', t);
      }
    } else if (this.localTracks.camera) {
      await this._setLocal('camera', null);
    }
    this.muted.camera = !enabled;
    this._send({ type: 'set_muted', camera: !enabled });
  }

  /**
   * Switch the microphone or camera to another device mid-call (no renegotiation: replaceTrack).
   * @param {'audioinput'|'videoinput'} kind
   * @param {string} deviceId
   */
  async switchDevice(kind, deviceId) {
    if (kind === 'audioinput') {
      this.opts.audioDeviceId = deviceId;
      if (!this.localTracks.microphone) return;
      const t = await getTrack('microphone', deviceId);
      t.enabled = !this.muted.mic;
      await this._setLocal('microphone', t);
    } else {
      this.opts.videoDeviceId = deviceId;
      if (!this.localTracks.camera) return;
      await this._setLocal('camera', await getTrack('camera', deviceId));
    }
  }

  /**
   * Share the screen (a window or tab). Resolves when sharing started; `stopScreenShare()` ends it,
   * as does the browser's own "stop sharing" button.
   * @param {{ audio?: boolean }} [opts]
   */
  async startScreenShare(opts = {}) {
    if (this.localTracks.screen) return;
    this._mayPublish('screen');
    /** @type {MediaStream} */
    let stream;
    try {
      // The screen's audio only when our token grants it: an offer sending it would be refused.
      const audio = (opts.audio ?? true) && !publishRefusal(this, 'screen_audio');
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio });
    } catch (e) {
      throw new MediaAccessError('screen', e);
    }
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0] || null;
    video.contentHint = 'detail';
    video.addEventListener('ended', () => { this.stopScreenShare(); });
    this.localTracks.screen = video;
    this.localTracks.screen_audio = audio;
    this._emit('localtrackchanged', { source: 'screen', track: video });
    if (this._peer.pc) {
      this._peer.attachSender('screen', video);
      if (audio) this._peer.attachSender('screen_audio', audio);
      this._peer.negotiate();
    }
  }

  /**
   * Throws a {@link ModerationError} when this client may not send `source` now: `muted_by_host` (ask to
   * unmute, see `askToUnmute`) or `forbidden` (a viewer). Nothing is sent then. @param {Source} source
   */
  _mayPublish(source) {
    const refusal = publishRefusal(this, source);
    if (refusal) throw refusal;
  }

  async stopScreenShare() {
    const v = this.localTracks.screen;
    if (!v) return;
    const a = this.localTracks.screen_audio;
    this.localTracks.screen = null;
    this.localTracks.screen_audio = null;
    v.stop();
    a?.stop();
    await this._peer.detachScreenSenders();
    this._emit('localtrackchanged', { source: 'screen', track: null });
    this._peer.negotiate();
  }

  /**
   * Replace a local track (device switch, camera on/off). Keeps the m-line, no renegotiation.
   * @param {'microphone'|'camera'} source @param {MediaStreamTrack | null} track
   */
  async _setLocal(source, track) {
    const old = this.localTracks[source];
    this.localTracks[source] = track;
    await this._peer.replaceTrack(source, track);
    if (old && old !== track) old.stop();
    this._emit('localtrackchanged', { source, track });
  }

  // ───────────────────────────── adaptive subscription ─────────────────────────────

  /**
   * Show a remote video in `el` and keep the server informed of its displayed size: the server
   * sends the simulcast layer that fits, and nothing at all while the element is hidden, zero-sized
   * or off-screen. Call `detachVideo(el)` when the element goes away.
   * @param {HTMLVideoElement} el
   * @param {RemoteTrack} remote
   */
  attachVideo(el, remote) {
    this._subs.attach(el, remote);
  }

  /** @param {HTMLVideoElement} el */
  detachVideo(el) {
    this._subs.detach(el);
  }

  /** Re-evaluate displayed sizes now (e.g. after toggling `display`, which observers may not report). */
  updateVideoSizes() {
    this._subs.schedule();
  }
}
