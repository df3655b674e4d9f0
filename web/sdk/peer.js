// Convene browser SDK: the one RTCPeerConnection to the SFU — publishing (microphone, simulcast camera,
// screen), offer/answer with glare handling, receiving m-lines, ICE restart / rebuild, and `layers_unused`.
import { joinMark } from './marks.js';
import { mayPublish } from './moderation.js';
import { TROUBLE_TIMEOUT_MS } from './signaling.js';

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').Source} Source */
/** @typedef {import('./types.js').ServerTrack} ServerTrack */

/** Simulcast layers of the camera, lowest first as the server lists them. */
export const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

const PC_CONFIG = /** @type {const} */ ({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });

export class Peer {
  /** @param {Convene} client */
  constructor(client) {
    this.c = client;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {Partial<Record<Source, RTCRtpTransceiver>>} */
    this.tx = {};
    this._chain = Promise.resolve();
    this._offerPending = false;
    this._needOffer = false;
    this._iceRestart = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._iceTimer = null;
    this._attempts = 0;
    this._connectedAt = 0;
    /** @type {Map<string, ServerTrack> | null} */
    this._pendingTracks = null;
    /** @type {{ pc: RTCPeerConnection, tx: Partial<Record<Source, RTCRtpTransceiver>>, offer: Promise<RTCSessionDescriptionInit> } | null} */
    this._prepared = null;
  }

  close() {
    const pc = this.pc;
    if (pc) {
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.oniceconnectionstatechange = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    if (this._iceTimer) { clearTimeout(this._iceTimer); this._iceTimer = null; }
    this.pc = null;
    this.tx = {};
    for (const mid of [...this.c.remoteTracks.keys()]) this.c._subs.remove(mid);
    this._offerPending = false;
    this._needOffer = false;
    this._prepared?.pc.close();
    this._prepared = null;
  }

  /**
   * While the server admits us: a peer connection with our send m-lines and its first offer, made ahead.
   * `start()` takes it over, with the ICE servers `joined` brings (given before any candidate is gathered).
   */
  prepare() {
    if (this.pc || this._prepared) return;
    const pc = new RTCPeerConnection(PC_CONFIG);
    const tx = this._addSenders(pc);
    const offer = pc.createOffer();
    offer.catch(() => { /* start() reports it */ });
    this._prepared = { pc, tx, offer };
    joinMark('pc');
  }

  /** Builds a fresh peer connection with our send m-lines (or takes the prepared one), and makes the first offer. */
  start() {
    const c = this.c;
    const prepared = this._prepared;
    this._prepared = null;
    this.close();
    const pc = prepared?.pc || new RTCPeerConnection({ ...PC_CONFIG, iceServers: c.iceServers });
    if (prepared && c.iceServers.length) pc.setConfiguration({ ...pc.getConfiguration(), iceServers: c.iceServers });
    this.pc = pc;
    joinMark('pc');
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        c._send({ type: 'ice_candidate', candidate: e.candidate.candidate, sdp_mid: e.candidate.sdpMid ?? undefined });
      }
    };
    pc.ontrack = (e) => this._onTrack(e);
    pc.oniceconnectionstatechange = () => this._onIceState();
    this._connectedAt = 0;
    pc.onconnectionstatechange = () => {
      c._emit('mediastatechange', { state: pc.connectionState });
      if (pc.connectionState === 'connected') { joinMark('connected'); this._connectedAt = Date.now(); this._attempts = 0; }
    };
    // Watchdog: a peer connection that does not connect soon gets rebuilt (e.g. the server reset its
    // media session for this participant while our first offer was in flight).
    const watchdog = setTimeout(() => {
      if (this.pc === pc && !c._left && pc.connectionState !== 'connected') this.recover();
    }, 8000);
    pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'connected') clearTimeout(watchdog); });
    this.tx = prepared ? prepared.tx : this._addSenders(pc);
    // The prepared m-lines were made before `joined` told our role and grants: a viewer's send nothing,
    // nor does a source our token does not grant.
    let narrowed = false;
    if (prepared) {
      for (const source of /** @type {const} */ (['microphone', 'camera'])) {
        const tx = this.tx[source];
        if (tx && this._direction(source) === 'inactive') { tx.direction = 'inactive'; narrowed = true; }
      }
    }
    if (c.localTracks.microphone) c.localTracks.microphone.enabled = !c.muted.mic;
    // Devices that opened after the prepared offer was made (no renegotiation: the m-lines are there).
    for (const source of /** @type {const} */ (['microphone', 'camera'])) {
      const track = c.localTracks[source];
      if (track && this.tx[source]?.sender.track !== track) this.replaceTrack(source, track).catch((e) => this._failed(e));
    }
    const screen = !!(c.localTracks.screen || c.localTracks.screen_audio);
    if (c.localTracks.screen) this.attachSender('screen', c.localTracks.screen);
    if (c.localTracks.screen_audio) this.attachSender('screen_audio', c.localTracks.screen_audio);
    // The first offer starts now rather than in a later microtask: createOffer then runs off the main thread
    // while the app renders what `joined` brought. The prepared one lacks m-lines added since.
    this._needOffer = true;
    this._chain = this._maybeOffer(screen || narrowed ? undefined : prepared?.offer).catch((e) => this._failed(e));
  }

  /**
   * Fixed layout: mid 0 = microphone, mid 1 = camera (simulcast), both present even when off, so that turning a
   * device on later needs no renegotiation. @param {RTCPeerConnection} pc
   */
  _addSenders(pc) {
    const c = this.c;
    return {
      microphone: pc.addTransceiver(c.localTracks.microphone || 'audio', { direction: this._direction('microphone') }),
      camera: pc.addTransceiver(c.localTracks.camera || 'video', {
        direction: this._direction('camera'),
        sendEncodings: c.opts.simulcast ? SIMULCAST_LAYERS.map((l) => ({ ...l })) : undefined,
      }),
    };
  }

  /**
   * What our m-line for `source` does: send, or nothing (a viewer, or a source our access token does not
   * grant: the server refuses an offer that would send it with `forbidden`). The microphone's and camera's
   * stay in place either way, so that a change of role only renegotiates.
   * @param {Source} source @returns {RTCRtpTransceiverDirection}
   */
  _direction(source) {
    return mayPublish(this.c, source) ? 'sendonly' : 'inactive';
  }

  /**
   * After a change of role: a viewer's m-lines send nothing (the screen's too), and may send again when it
   * is no longer one. Renegotiates when something changed. @param {boolean} publish
   */
  setPublishing(publish) {
    let changed = false;
    for (const [source, tx] of Object.entries(this.tx)) {
      if (!tx || tx.currentDirection === 'stopped') continue;
      const screen = source === 'screen' || source === 'screen_audio';
      // The screen's m-lines come back with the next share, not with the role.
      const want = publish ? (screen ? tx.direction : this._direction(/** @type {Source} */ (source))) : 'inactive';
      if (tx.direction !== want) { tx.direction = want; changed = true; }
    }
    if (changed && this.pc) this.negotiate();
  }

  /** @param {'screen'|'screen_audio'} source @param {MediaStreamTrack} track */
  attachSender(source, track) {
    const pc = /** @type {RTCPeerConnection} */ (this.pc);
    const tx = this.tx[source];
    if (tx && !tx.currentDirection?.includes('stopped')) {
      tx.sender.replaceTrack(track);
      tx.direction = 'sendonly';
    } else {
      this.tx[source] = pc.addTransceiver(track, { direction: 'sendonly' });
    }
  }

  /** Stops sending on the screen m-lines (they become `inactive`; the server unpublishes them). */
  async detachScreenSenders() {
    for (const s of /** @type {Source[]} */ (['screen', 'screen_audio'])) {
      const tx = this.tx[s];
      if (tx && tx.direction !== 'inactive') {
        await tx.sender.replaceTrack(null).catch(() => {});
        tx.direction = 'inactive';
      }
    }
  }

  /** Replace what a microphone / camera m-line sends, without renegotiation. @param {'microphone'|'camera'} source @param {MediaStreamTrack | null} track */
  async replaceTrack(source, track) {
    const tx = this.tx[source];
    if (tx) await tx.sender.replaceTrack(track);
  }

  /** @param {() => Promise<void>} fn */
  _enqueue(fn) {
    this._chain = this._chain.then(fn).catch((e) => this._failed(e));
    return this._chain;
  }

  /** @param {any} e */
  _failed(e) {
    this.c._emit('error', { code: 'media_error', message: String(e && e.message || e), fatal: false });
  }

  /** Ask for a client offer (coalesced: one outstanding at a time). */
  negotiate() {
    this._needOffer = true;
    this._enqueue(() => this._maybeOffer());
  }

  /** @param {Promise<RTCSessionDescriptionInit>} [made] an offer made ahead (see `prepare`) */
  async _maybeOffer(made) {
    const pc = this.pc;
    if (!pc || this._offerPending || !this._needOffer || pc.signalingState !== 'stable') return;
    if (!this.c._signaling.open) return;
    this._needOffer = false;
    const offer = await (made || pc.createOffer({ iceRestart: this._iceRestart }));
    this._iceRestart = false;
    await pc.setLocalDescription(offer);
    /** @type {{mid: string, source: Source}[]} */
    const tracks = [];
    for (const [source, tx] of Object.entries(this.tx)) {
      if (tx && tx.mid && tx.direction === 'sendonly') tracks.push({ mid: tx.mid, source: /** @type {Source} */ (source) });
    }
    this._offerPending = true;
    joinMark('offer');
    this.c._send({ type: 'sdp_offer', sdp: pc.localDescription?.sdp || offer.sdp, tracks });
  }

  /** @param {string} sdp */
  onAnswer(sdp) {
    this._enqueue(async () => {
      const pc = this.pc;
      if (!pc || pc.signalingState !== 'have-local-offer') return;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      joinMark('answer');
      this._offerPending = false;
      await this._maybeOffer();
    });
  }

  /** @param {string} sdp @param {ServerTrack[]} tracks */
  onServerOffer(sdp, tracks) {
    this._enqueue(() => this._answer(sdp, tracks));
  }

  /** @param {string} sdp @param {ServerTrack[]} tracks */
  async _answer(sdp, tracks) {
    const pc = this.pc;
    if (!pc) return;
    const c = this.c;
    // Glare: the server is polite and sends a fresh offer after answering ours.
    if (this._offerPending || pc.signalingState !== 'stable') return;
    this._pendingTracks = new Map(tracks.map((t) => [t.mid, t]));
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    c._send({ type: 'sdp_answer', sdp: pc.localDescription?.sdp || answer.sdp });
    joinMark('server-offer');
    // m-lines that no longer carry a track (stopped) or now carry another one.
    for (const [mid, rt] of [...c.remoteTracks]) {
      const t = this._pendingTracks.get(mid);
      const tx = pc.getTransceivers().find((x) => x.mid === mid);
      if (!t || t.track_id !== rt.trackId || !tx || tx.currentDirection === 'inactive' || tx.currentDirection === 'stopped') {
        c._subs.remove(mid);
      }
    }
    // New tracks on m-lines whose ontrack fired before, or that ontrack does not fire for (reused m-lines).
    for (const tx of pc.getTransceivers()) {
      if (!tx.mid || c.remoteTracks.has(tx.mid)) continue;
      const info = this._pendingTracks.get(tx.mid);
      if (info && (tx.currentDirection === 'recvonly' || tx.currentDirection === 'sendrecv')) c._subs.add(tx.mid, info, tx.receiver.track);
    }
    await this._maybeOffer();
  }

  /** @param {RTCTrackEvent} e */
  _onTrack(e) {
    const mid = e.transceiver.mid;
    if (!mid || !this._pendingTracks) return;
    const info = this._pendingTracks.get(mid);
    if (info && !this.c.remoteTracks.has(mid)) this.c._subs.add(mid, info, e.track);
  }

  /** @param {{ candidate?: string, sdp_mid?: string }} msg */
  addIceCandidate(msg) {
    if (this.pc && msg.candidate) {
      this.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid ?? '0' }).catch(() => {});
    }
  }

  _onIceState() {
    const pc = this.pc;
    if (!pc) return;
    const s = pc.iceConnectionState;
    if (s === 'connected') joinMark('ice-connected');
    if (this._iceTimer) { clearTimeout(this._iceTimer); this._iceTimer = null; }
    // The network that broke ICE may have broken the signaling socket too: find out now, not at the next ping.
    if (s === 'failed' || s === 'disconnected') this.c._signaling.checkAlive(TROUBLE_TIMEOUT_MS);
    if (s === 'failed') {
      this.recover();
    } else if (s === 'disconnected') {
      this._iceTimer = setTimeout(() => this.recover(), 2000);
    }
  }

  /** ICE failed or stayed disconnected: restart ICE; after repeated failures rebuild the peer connection. */
  recover() {
    if (this.c._left || this.c.state !== 'connected') return;
    this._attempts++;
    // A connection that was up only briefly lost its server-side session rather than its network path
    // (the server resets media when it stops hearing a peer): a fresh peer connection is the cure.
    const brief = !this._connectedAt || Date.now() - this._connectedAt < 15_000;
    if (brief || this._attempts > 2) {
      this._attempts = 0;
      this.start();
    } else {
      this.restartIce();
    }
  }

  restartIce() {
    this._iceRestart = true;
    this.negotiate();
  }

  /**
   * After a resume on a new socket with the media session kept: an offer sent on the old socket may never
   * be answered, so it is taken back (rollback) before an ICE restart on the new one.
   */
  resumeIce() {
    this._enqueue(async () => {
      const pc = this.pc;
      if (pc && pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      this._offerPending = false;
    });
    this.restartIce();
  }

  /**
   * The server says nobody receives these layers of one of our tracks: stop encoding them.
   * @param {string} trackId @param {string[]} rids
   */
  onLayersUnused(trackId, rids) {
    const tx = this.tx.camera;
    if (!tx || this.c.ownTrackIds.get('camera') !== trackId) return;
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
}
