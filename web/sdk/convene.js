// Convene browser SDK: signaling, reconnection, publishing and adaptive subscribing over one
// RTCPeerConnection to the Convene SFU. Plain ES module, no dependencies. See docs/sdk.md.

/** @typedef {'microphone'|'camera'|'screen'|'screen_audio'} Source */
/** @typedef {'host'|'moderator'|'participant'|'viewer'} Role */
/** @typedef {'connecting'|'connected'|'reconnecting'|'disconnected'} ConnectionState */

/**
 * @typedef {object} TrackInfo
 * @property {string} id
 * @property {'audio'|'video'} kind
 * @property {Source} source
 * @property {string[]} [rids]
 * @property {string} [mid]
 */

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} display_name
 * @property {Role} role
 * @property {boolean} mic_muted
 * @property {boolean} camera_muted
 * @property {boolean} hand_raised
 * @property {boolean} screen_sharing
 * @property {number} joined_at
 * @property {TrackInfo[]} tracks
 */

/**
 * @typedef {object} ChatMessage
 * @property {number} seq
 * @property {string} from
 * @property {string} from_name
 * @property {string} text
 * @property {number} sent_at
 * @property {string} [client_msg_id]
 */

/**
 * A remote track that arrived over the peer connection.
 * @typedef {object} RemoteTrack
 * @property {string} participantId
 * @property {string} trackId
 * @property {'audio'|'video'} kind
 * @property {Source} source
 * @property {string} mid
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream  a stream holding only `track`, ready for `srcObject`
 */

/**
 * Event details, by event name.
 * @typedef {object} ConveneEventMap
 * @property {{ state: ConnectionState, previous: ConnectionState }} connectionstatechange
 * @property {{ participantId: string, resumed: boolean, participants: Participant[], chatHistory: ChatMessage[] }} joined
 * @property {{ participant: Participant }} participantjoined
 * @property {{ participant: Participant, reason: string }} participantleft
 * @property {{ participant: Participant, previous: Participant }} participantupdated
 * @property {RemoteTrack} trackadded
 * @property {RemoteTrack} trackremoved
 * @property {{ source: Source, track: MediaStreamTrack | null }} localtrackchanged
 * @property {{ message: ChatMessage, own: boolean }} chat
 * @property {{ participantId: string | null }} dominantspeaker
 * @property {{ levels: { participant_id: string, level: number }[] }} audiolevels
 * @property {{ code: string, message: string, request?: string, fatal: boolean }} error
 * @property {{ reason: string }} closed
 * @property {{ state: RTCPeerConnectionState }} mediastatechange
 */

/**
 * @template {keyof ConveneEventMap} K
 * @typedef {CustomEvent<ConveneEventMap[K]>} ConveneEvent
 */

/**
 * @typedef {object} ConveneOptions
 * @property {string} room               room name (a-z 0-9 - _, case-insensitive)
 * @property {string} displayName
 * @property {string} [url]              WebSocket URL; default: `/ws` on the page's host
 * @property {string} [accessToken]
 * @property {string} [resumeToken]      from an earlier session (e.g. sessionStorage) to come back as the same participant
 * @property {boolean} [mic]             publish the microphone (default true)
 * @property {boolean} [camera]          publish the camera (default true)
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 * @property {MediaStreamTrack} [audioTrack]  use this track instead of opening the microphone
 * @property {MediaStreamTrack} [videoTrack]  use this track instead of opening the camera
 * @property {boolean} [simulcast]       camera simulcast with 3 layers (default true)
 * @property {number} [reconnectWindowMs] how long to keep trying to reconnect (default: the server's resume window)
 */

/** Simulcast layers of the camera, lowest first as the server lists them. */
export const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/** Error codes after which a join is not retried. */
const FATAL_JOIN_ERRORS = new Set([
  'room_full', 'room_not_found', 'unauthorized', 'invalid_room_name', 'invalid_display_name',
  'unsupported_version', 'server_draining',
]);

/** A failure to get camera/microphone/screen; `name` is the DOMException's (NotAllowedError, NotFoundError...). */
export class MediaAccessError extends Error {
  /** @param {Source} source @param {unknown} cause */
  constructor(source, cause) {
    const e = /** @type {{name?: string, message?: string}} */ (cause || {});
    super(`${source}: ${e.message || e.name || 'unavailable'}`);
    this.source = source;
    this.name = e.name || 'MediaAccessError';
    this.denied = e.name === 'NotAllowedError' || e.name === 'SecurityError';
  }
}

/** A refused join (room_full, ...) or an unreachable server. */
export class JoinError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The client. Create one per meeting, `await join()`, listen to events, `leave()` at the end.
 *
 * @example
 * const c = new Convene({ room: 'team-sync', displayName: 'Ada' });
 * c.addEventListener('trackadded', (e) => { ... e.detail.track ... });
 * await c.join();
 */
export class Convene extends EventTarget {
  /** @param {ConveneOptions} opts */
  constructor(opts) {
    super();
    this.opts = { mic: true, camera: true, simulcast: true, ...opts };
    /** @type {ConnectionState} */
    this.state = 'disconnected';
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

    /** @type {WebSocket | null} */
    this._ws = null;
    /** @type {RTCPeerConnection | null} */
    this._pc = null;
    /** @type {Partial<Record<Source, RTCRtpTransceiver>>} */
    this._tx = {};
    this._chain = Promise.resolve();
    this._offerPending = false;
    this._needOffer = false;
    this._iceRestart = false;
    this._left = false;
    this._msgId = 0;
    /** @type {Map<string, {w?: number, h?: number}>} last constraint sent per track id */
    this._constraints = new Map();
    /** @type {Map<Element, string>} observed video elements → track id */
    this._observed = new Map();
    /** @type {Set<Element>} elements currently intersecting the viewport */
    this._visible = new Set();
    this._resizeObs = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => this._scheduleConstraints()) : null;
    this._intersectObs = typeof IntersectionObserver !== 'undefined'
      ? new IntersectionObserver((entries) => {
        for (const e of entries) { if (e.isIntersecting) this._visible.add(e.target); else this._visible.delete(e.target); }
        this._scheduleConstraints();
      })
      : null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._constraintTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._iceTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._pingTimer = null;
    this._mediaAttempts = 0;
    this._pcConnectedAt = 0;
    /** @type {Map<string, {mid: string, participant_id: string, track_id: string, kind: 'audio'|'video', source: Source}> | null} */
    this._pendingTracks = null;
    /** @type {MediaAccessError[]} failures while opening devices at join */
    this.mediaErrors = [];
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

  /** @param {ConnectionState} s */
  _setState(s) {
    if (s === this.state) return;
    const previous = this.state;
    this.state = s;
    this._emit('connectionstatechange', { state: s, previous });
  }

  /** The local participant as the server last described it. */
  get me() {
    return this.participantId ? this.participants.get(this.participantId) || null : null;
  }

  // ───────────────────────────── connection ─────────────────────────────

  /**
   * Opens the devices asked for (failures are kept in `mediaErrors` and reported as `error`
   * events; the meeting goes on without them), connects and joins. Resolves with the `joined` message.
   * Rejects with a {@link JoinError} when the server refuses (room_full, ...) or cannot be reached.
   */
  async join() {
    this._left = false;
    await this._openInitialMedia();
    this._setState('connecting');
    const joined = await this._connectOnce(false);
    this._startPings();
    return joined;
  }

  async _openInitialMedia() {
    const o = this.opts;
    if (o.mic && !this.localTracks.microphone) {
      try {
        this.localTracks.microphone = o.audioTrack || await getTrack('microphone', o.audioDeviceId);
      } catch (e) {
        this._mediaFailed(/** @type {MediaAccessError} */ (e));
        this.muted.mic = true;
      }
    }
    if (o.camera && !this.localTracks.camera) {
      try {
        this.localTracks.camera = o.videoTrack || await getTrack('camera', o.videoDeviceId);
      } catch (e) {
        this._mediaFailed(/** @type {MediaAccessError} */ (e));
        this.muted.camera = true;
      }
    }
  }

  /** @param {MediaAccessError} e */
  _mediaFailed(e) {
    this.mediaErrors.push(e);
    this._emit('error', { code: e.denied ? 'media_denied' : 'media_unavailable', message: e.message, request: e.source, fatal: false });
  }

  _wsUrl() {
    if (this.opts.url) return this.opts.url;
    const l = globalThis.location;
    return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}/ws`;
  }

  /**
   * One connection attempt: open the socket, send join, wait for joined or error.
   * @param {boolean} resuming
   * @returns {Promise<any>}
   */
  _connectOnce(resuming) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let ws;
      try {
        ws = new WebSocket(this._wsUrl());
      } catch (e) {
        reject(new JoinError('unreachable', String(e)));
        return;
      }
      this._ws = ws;
      ws.onopen = () => {
        /** @type {Record<string, unknown>} */
        const join = {
          type: 'join', room: this.opts.room, display_name: this.opts.displayName, version: 1,
          mic_muted: this.muted.mic, camera_muted: this.muted.camera,
        };
        if (this.opts.accessToken) join.access_token = this.opts.accessToken;
        if (this.resumeToken) join.resume_token = this.resumeToken;
        ws.send(JSON.stringify(join));
      };
      ws.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (!settled) {
          if (msg.type === 'joined') {
            settled = true;
            this._onJoined(msg, resuming);
            resolve(msg);
          } else if (msg.type === 'error') {
            settled = true;
            ws.onclose = null;
            ws.close();
            if (this._ws === ws) this._ws = null;
            reject(new JoinError(msg.code, msg.message));
          }
          return;
        }
        this._onMessage(msg);
      };
      ws.onclose = (ev) => {
        if (this._ws === ws) this._ws = null;
        if (!settled) {
          settled = true;
          reject(new JoinError('unreachable', `could not connect to the server (${ev.code})`));
          return;
        }
        this._onSocketClosed(ev.code);
      };
      ws.onerror = () => { /* onclose follows */ };
    });
  }

  /** @param {any} msg @param {boolean} resuming */
  _onJoined(msg, resuming) {
    const sameParticipant = this.participantId === msg.participant_id;
    this.participantId = msg.participant_id;
    this.resumeToken = msg.resume_token;
    this.resumeWindowMs = (msg.resume_window_secs || 30) * 1000;
    this.iceServers = msg.ice_servers || [];
    const before = new Map(this.participants);
    this.participants.clear();
    for (const p of msg.participants) this.participants.set(p.id, p);
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
      const lastSeq = this.chat.length ? this.chat[this.chat.length - 1].seq : 0;
      for (const m of msg.chat_history || []) {
        if (m.seq > lastSeq) { this.chat.push(m); this._emit('chat', { message: m, own: m.from === this.participantId }); }
      }
    } else {
      this.chat = [...(msg.chat_history || [])];
    }
    this._setState('connected');
    this._emit('joined', { participantId: msg.participant_id, resumed: !!msg.resumed, participants: [...this.participants.values()], chatHistory: this.chat });
    // A resumed participant from another page (reload) or after a long break: a fresh peer connection.
    if (!this._pc || !sameParticipant || this._pc.connectionState === 'failed' || this._pc.connectionState === 'closed') {
      this._startMedia();
    } else if (this._pc.iceConnectionState !== 'connected' && this._pc.iceConnectionState !== 'completed') {
      this._restartIce();
    }
  }

  /** @param {number} code */
  async _onSocketClosed(code) {
    if (this._left) return;
    if (code === 4001) {
      // Another connection (another tab, or a reload) took over this participant.
      this._shutdown('replaced');
      return;
    }
    this._setState('reconnecting');
    const deadline = Date.now() + (this.opts.reconnectWindowMs ?? this.resumeWindowMs);
    let delay = 250;
    while (!this._left && Date.now() < deadline) {
      try {
        await this._connectOnce(true);
        return;
      } catch (e) {
        const err = /** @type {JoinError} */ (e);
        if (FATAL_JOIN_ERRORS.has(err.code)) {
          this._emit('error', { code: err.code, message: err.message, fatal: true });
          this._shutdown(err.code);
          return;
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 3000);
    }
    if (!this._left) this._shutdown('disconnected');
  }

  _startPings() {
    if (this._pingTimer) return;
    this._pingTimer = setInterval(() => this._send({ type: 'ping', ts: Date.now() }), 15_000);
  }

  /** @param {Record<string, unknown>} msg */
  _send(msg) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) {
      this._ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  /** Leave the meeting on purpose: the others see you leave at once. Stops local tracks. */
  async leave() {
    if (this._left) return;
    this._left = true;
    const ws = this._ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'leave' }));
      await Promise.race([new Promise((r) => ws.addEventListener('close', r, { once: true })), sleep(1000)]);
    }
    this._shutdown('left');
  }

  /** @param {string} reason */
  _shutdown(reason) {
    this._left = true;
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
    if (this._iceTimer) clearTimeout(this._iceTimer);
    if (this._ws) { this._ws.onclose = null; try { this._ws.close(1000); } catch { /* closed */ } }
    this._ws = null;
    this._closePc();
    for (const k of /** @type {Source[]} */ (Object.keys(this.localTracks))) {
      this.localTracks[k]?.stop();
      this.localTracks[k] = null;
    }
    this._resizeObs?.disconnect();
    this._intersectObs?.disconnect();
    this._observed.clear();
    this._setState('disconnected');
    this._emit('closed', { reason });
  }

  // ───────────────────────────── messages ─────────────────────────────

  /** @param {any} msg */
  _onMessage(msg) {
    switch (msg.type) {
      case 'participant_joined':
        this.participants.set(msg.participant.id, msg.participant);
        this._emit('participantjoined', { participant: msg.participant });
        break;
      case 'participant_updated': {
        const prev = this.participants.get(msg.participant.id) || msg.participant;
        this.participants.set(msg.participant.id, msg.participant);
        this._emit('participantupdated', { participant: msg.participant, previous: prev });
        break;
      }
      case 'participant_left': {
        const p = this.participants.get(msg.participant_id);
        this.participants.delete(msg.participant_id);
        for (const [mid, t] of this.remoteTracks) {
          if (t.participantId === msg.participant_id) this._removeRemote(mid);
        }
        if (p) this._emit('participantleft', { participant: p, reason: msg.reason });
        if (this.dominantSpeaker === msg.participant_id) this.dominantSpeaker = null;
        break;
      }
      case 'chat':
        if (!this.chat.some((m) => m.seq === msg.message.seq)) this.chat.push(msg.message);
        this._emit('chat', { message: msg.message, own: msg.message.from === this.participantId });
        break;
      case 'error':
        this._emit('error', { code: msg.code, message: msg.message, request: msg.request, fatal: false });
        break;
      case 'closing':
        if (msg.reason !== 'server_shutdown') {
          this._shutdown(msg.reason);
        }
        break;
      case 'sdp_answer':
        this._enqueue(() => this._onAnswer(msg.sdp));
        break;
      case 'sdp_offer':
        this._enqueue(() => this._onServerOffer(msg.sdp, msg.tracks || []));
        break;
      case 'ice_candidate':
        if (this._pc && msg.candidate) {
          this._pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid ?? '0' }).catch(() => {});
        }
        break;
      case 'track_published':
        if (msg.participant_id === this.participantId) this.ownTrackIds.set(msg.track.source, msg.track.id);
        break;
      case 'track_unpublished':
        for (const [mid, t] of this.remoteTracks) {
          if (t.trackId === msg.track_id) this._removeRemote(mid);
        }
        break;
      case 'dominant_speaker':
        this.dominantSpeaker = msg.participant_id ?? null;
        this._emit('dominantspeaker', { participantId: this.dominantSpeaker });
        break;
      case 'audio_levels':
        this._emit('audiolevels', { levels: msg.levels });
        break;
      case 'layers_unused':
        this._onLayersUnused(msg.track_id, msg.rids);
        break;
      default:
        break; // unknown server messages are ignored (protocol: servers may add types)
    }
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

  /** @param {boolean} raised */
  setHandRaised(raised) {
    this._send({ type: 'set_hand', raised });
  }

  /**
   * Mute or unmute the microphone. Unmuting opens the microphone if it was never opened.
   * @param {boolean} enabled
   */
  async setMicEnabled(enabled) {
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
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: opts.audio ?? true });
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
    if (this._pc) {
      this._attachSender('screen', video);
      if (audio) this._attachSender('screen_audio', audio);
      this._negotiate();
    }
  }

  async stopScreenShare() {
    const v = this.localTracks.screen;
    if (!v) return;
    const a = this.localTracks.screen_audio;
    this.localTracks.screen = null;
    this.localTracks.screen_audio = null;
    v.stop();
    a?.stop();
    for (const s of /** @type {Source[]} */ (['screen', 'screen_audio'])) {
      const tx = this._tx[s];
      if (tx && tx.direction !== 'inactive') {
        await tx.sender.replaceTrack(null).catch(() => {});
        tx.direction = 'inactive';
      }
    }
    this._emit('localtrackchanged', { source: 'screen', track: null });
    this._negotiate();
  }

  /**
   * Replace a local track (device switch, camera on/off). Keeps the m-line, no renegotiation.
   * @param {'microphone'|'camera'} source @param {MediaStreamTrack | null} track
   */
  async _setLocal(source, track) {
    const old = this.localTracks[source];
    this.localTracks[source] = track;
    const tx = this._tx[source];
    if (tx) await tx.sender.replaceTrack(track);
    if (old && old !== track) old.stop();
    this._emit('localtrackchanged', { source, track });
  }

  // ───────────────────────────── media ─────────────────────────────

  _closePc() {
    if (this._pc) {
      this._pc.onicecandidate = null;
      this._pc.ontrack = null;
      this._pc.oniceconnectionstatechange = null;
      this._pc.onconnectionstatechange = null;
      this._pc.close();
    }
    this._pc = null;
    this._tx = {};
    for (const mid of [...this.remoteTracks.keys()]) this._removeRemote(mid);
    this._offerPending = false;
    this._needOffer = false;
  }

  /** Builds a fresh peer connection with our send m-lines, and makes the first offer. */
  _startMedia() {
    this._closePc();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this._pc = pc;
    this._chain = Promise.resolve();
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        this._send({ type: 'ice_candidate', candidate: e.candidate.candidate, sdp_mid: e.candidate.sdpMid ?? undefined });
      }
    };
    pc.ontrack = (e) => this._onTrack(e);
    pc.oniceconnectionstatechange = () => this._onIceState();
    this._pcConnectedAt = 0;
    pc.onconnectionstatechange = () => {
      this._emit('mediastatechange', { state: pc.connectionState });
      if (pc.connectionState === 'connected') { this._pcConnectedAt = Date.now(); this._mediaAttempts = 0; }
    };
    // Watchdog: a peer connection that does not connect soon gets rebuilt (e.g. the server reset its
    // media session for this participant while our first offer was in flight).
    const watchdog = setTimeout(() => {
      if (this._pc === pc && !this._left && pc.connectionState !== 'connected') this._recoverMedia();
    }, 8000);
    pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'connected') clearTimeout(watchdog); });
    // Fixed layout: mid 0 = microphone, mid 1 = camera (simulcast), both present even when off,
    // so that turning a device on later needs no renegotiation.
    this._tx.microphone = pc.addTransceiver(this.localTracks.microphone || 'audio', { direction: 'sendonly' });
    if (this.localTracks.microphone) this.localTracks.microphone.enabled = !this.muted.mic;
    this._tx.camera = pc.addTransceiver(this.localTracks.camera || 'video', {
      direction: 'sendonly',
      sendEncodings: this.opts.simulcast ? SIMULCAST_LAYERS.map((l) => ({ ...l })) : undefined,
    });
    if (this.localTracks.screen) this._attachSender('screen', this.localTracks.screen);
    if (this.localTracks.screen_audio) this._attachSender('screen_audio', this.localTracks.screen_audio);
    this._negotiate();
  }

  /** @param {'screen'|'screen_audio'} source @param {MediaStreamTrack} track */
  _attachSender(source, track) {
    const pc = /** @type {RTCPeerConnection} */ (this._pc);
    const tx = this._tx[source];
    if (tx && !tx.currentDirection?.includes('stopped')) {
      tx.sender.replaceTrack(track);
      tx.direction = 'sendonly';
    } else {
      this._tx[source] = pc.addTransceiver(track, { direction: 'sendonly' });
    }
  }

  /** @param {() => Promise<void>} fn */
  _enqueue(fn) {
    this._chain = this._chain.then(fn).catch((e) => {
      this._emit('error', { code: 'media_error', message: String(e && e.message || e), fatal: false });
    });
    return this._chain;
  }

  /** Ask for a client offer (coalesced: one outstanding at a time). */
  _negotiate() {
    this._needOffer = true;
    this._enqueue(() => this._maybeOffer());
  }

  async _maybeOffer() {
    const pc = this._pc;
    if (!pc || this._offerPending || !this._needOffer || pc.signalingState !== 'stable') return;
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return;
    this._needOffer = false;
    const offer = await pc.createOffer({ iceRestart: this._iceRestart });
    this._iceRestart = false;
    await pc.setLocalDescription(offer);
    /** @type {{mid: string, source: Source}[]} */
    const tracks = [];
    for (const [source, tx] of Object.entries(this._tx)) {
      if (tx && tx.mid && tx.direction === 'sendonly') tracks.push({ mid: tx.mid, source: /** @type {Source} */ (source) });
    }
    this._offerPending = true;
    this._send({ type: 'sdp_offer', sdp: pc.localDescription?.sdp || offer.sdp, tracks });
  }

  /** @param {string} sdp */
  async _onAnswer(sdp) {
    const pc = this._pc;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    this._offerPending = false;
    await this._maybeOffer();
  }

  /**
   * @param {string} sdp
   * @param {{mid: string, participant_id: string, track_id: string, kind: 'audio'|'video', source: Source}[]} tracks
   */
  async _onServerOffer(sdp, tracks) {
    const pc = this._pc;
    if (!pc) return;
    // Glare: the server is polite and sends a fresh offer after answering ours.
    if (this._offerPending || pc.signalingState !== 'stable') return;
    this._pendingTracks = new Map(tracks.map((t) => [t.mid, t]));
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._send({ type: 'sdp_answer', sdp: pc.localDescription?.sdp || answer.sdp });
    // m-lines that no longer carry a track (stopped) or now carry another one.
    for (const [mid, rt] of [...this.remoteTracks]) {
      const t = this._pendingTracks.get(mid);
      const tx = pc.getTransceivers().find((x) => x.mid === mid);
      if (!t || t.track_id !== rt.trackId || !tx || tx.currentDirection === 'inactive' || tx.currentDirection === 'stopped') {
        this._removeRemote(mid);
      }
    }
    // New tracks on m-lines whose ontrack fired before, or that ontrack does not fire for (reused m-lines).
    for (const tx of pc.getTransceivers()) {
      if (!tx.mid || this.remoteTracks.has(tx.mid)) continue;
      const info = this._pendingTracks.get(tx.mid);
      if (info && (tx.currentDirection === 'recvonly' || tx.currentDirection === 'sendrecv')) this._addRemote(tx.mid, info, tx.receiver.track);
    }
    await this._maybeOffer();
  }

  /** @param {RTCTrackEvent} e */
  _onTrack(e) {
    const mid = e.transceiver.mid;
    if (!mid || !this._pendingTracks) return;
    const info = this._pendingTracks.get(mid);
    if (info && !this.remoteTracks.has(mid)) this._addRemote(mid, info, e.track);
  }

  /**
   * @param {string} mid
   * @param {{participant_id: string, track_id: string, kind: 'audio'|'video', source: Source}} info
   * @param {MediaStreamTrack} track
   */
  _addRemote(mid, info, track) {
    /** @type {RemoteTrack} */
    const rt = {
      participantId: info.participant_id, trackId: info.track_id, kind: info.kind, source: info.source,
      mid, track, stream: new MediaStream([track]),
    };
    this.remoteTracks.set(mid, rt);
    this._emit('trackadded', rt);
  }

  /** @param {string} mid */
  _removeRemote(mid) {
    const rt = this.remoteTracks.get(mid);
    if (!rt) return;
    this.remoteTracks.delete(mid);
    this._constraints.delete(rt.trackId);
    for (const [el, id] of this._observed) if (id === rt.trackId) this.detachVideo(/** @type {HTMLVideoElement} */ (el));
    this._emit('trackremoved', rt);
  }

  _onIceState() {
    const pc = this._pc;
    if (!pc) return;
    const s = pc.iceConnectionState;
    if (this._iceTimer) { clearTimeout(this._iceTimer); this._iceTimer = null; }
    if (s === 'failed') {
      this._recoverMedia();
    } else if (s === 'disconnected') {
      this._iceTimer = setTimeout(() => this._recoverMedia(), 2000);
    }
  }

  /** ICE failed or stayed disconnected: restart ICE; after repeated failures rebuild the peer connection. */
  _recoverMedia() {
    if (this._left || this.state !== 'connected') return;
    this._mediaAttempts++;
    // A connection that was up only briefly lost its server-side session rather than its network path
    // (the server resets media when it stops hearing a peer): a fresh peer connection is the cure.
    const brief = !this._pcConnectedAt || Date.now() - this._pcConnectedAt < 15_000;
    if (brief || this._mediaAttempts > 2) {
      this._mediaAttempts = 0;
      this._startMedia();
    } else {
      this._restartIce();
    }
  }

  _restartIce() {
    this._iceRestart = true;
    this._negotiate();
  }

  /** @param {string} trackId @param {string[]} rids */
  _onLayersUnused(trackId, rids) {
    const tx = this._tx.camera;
    if (!tx || this.ownTrackIds.get('camera') !== trackId) return;
    const params = tx.sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    for (const enc of params.encodings) {
      const active = !rids.includes(enc.rid || '');
      if (enc.active !== active) { enc.active = active; changed = true; }
    }
    // Keep at least one layer encoding so a new subscriber gets video at once.
    if (!params.encodings.some((e) => e.active)) params.encodings[0].active = true;
    if (changed) tx.sender.setParameters(params).catch(() => {});
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
    if (el.srcObject !== remote.stream) el.srcObject = remote.stream;
    el.muted = true;
    el.playsInline = true;
    el.autoplay = true;
    el.play?.().catch(() => {});
    if (this._observed.get(el) === remote.trackId) return;
    this._observed.set(el, remote.trackId);
    this._resizeObs?.observe(el);
    this._intersectObs?.observe(el);
    this._scheduleConstraints();
  }

  /** @param {HTMLVideoElement} el */
  detachVideo(el) {
    if (!this._observed.has(el)) return;
    this._observed.delete(el);
    this._visible.delete(el);
    this._resizeObs?.unobserve(el);
    this._intersectObs?.unobserve(el);
    this._scheduleConstraints();
  }

  /** Re-evaluate displayed sizes now (e.g. after toggling `display`, which observers may not report). */
  updateVideoSizes() {
    this._scheduleConstraints();
  }

  _scheduleConstraints() {
    if (this._constraintTimer) return;
    this._constraintTimer = setTimeout(() => { this._constraintTimer = null; this._sendConstraints(); }, 100);
  }

  _sendConstraints() {
    /** @type {Map<string, {w: number, h: number}>} */
    const sizes = new Map();
    const dpr = globalThis.devicePixelRatio || 1;
    for (const [el, trackId] of this._observed) {
      const r = el.getBoundingClientRect();
      const shown = el.isConnected && r.width > 0 && r.height > 0 && (!this._intersectObs || this._visible.has(el))
        && getComputedStyle(el).visibility !== 'hidden';
      const cur = sizes.get(trackId) || { w: 0, h: 0 };
      if (shown) sizes.set(trackId, { w: Math.max(cur.w, Math.round(r.width * dpr)), h: Math.max(cur.h, Math.round(r.height * dpr)) });
      else sizes.set(trackId, cur);
    }
    // Remote videos nobody shows are hidden too.
    for (const rt of this.remoteTracks.values()) {
      if (rt.kind === 'video' && !sizes.has(rt.trackId)) sizes.set(rt.trackId, { w: 0, h: 0 });
    }
    for (const [trackId, s] of sizes) {
      const prev = this._constraints.get(trackId);
      const hidden = s.w === 0 || s.h === 0;
      // Small changes do not matter to layer choice; skip them to stay quiet on the wire.
      if (prev && (hidden ? prev.w === undefined : prev.w !== undefined && Math.abs(prev.w - s.w) < 16 && Math.abs((prev.h || 0) - s.h) < 16)) continue;
      const msg = hidden ? { type: 'set_video_constraint', track: trackId } : { type: 'set_video_constraint', track: trackId, width: s.w, height: s.h };
      if (this._send(msg)) this._constraints.set(trackId, hidden ? {} : { w: s.w, h: s.h });
    }
  }

  /** The peer connection (for statistics); null before the first offer. */
  get peerConnection() {
    return this._pc;
  }
}

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

/** A readable random room name such as `brave-otters-sing-42`. */
export function randomRoomName() {
  const a = ['brave', 'calm', 'bright', 'eager', 'gentle', 'happy', 'jolly', 'kind', 'lively', 'merry', 'proud', 'quick', 'quiet', 'sunny', 'witty', 'bold'];
  const n = ['otters', 'foxes', 'owls', 'pandas', 'falcons', 'whales', 'tigers', 'koalas', 'ravens', 'dolphins', 'lynxes', 'herons'];
  const v = ['sing', 'dance', 'meet', 'plan', 'build', 'talk', 'think', 'write', 'draw', 'roam', 'jump', 'chat'];
  /** @param {string[]} l */
  const pick = (l) => l[Math.floor(Math.random() * l.length)];
  return `${pick(a)}-${pick(n)}-${pick(v)}-${Math.floor(Math.random() * 90 + 10)}`;
}
