// Convene browser SDK: remote tracks and adaptive subscribing — which video elements show which remote
// video, at what size, sent to the server with `set_video_constraint` (hidden videos are not sent at all).

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').RemoteTrack} RemoteTrack */
/** @typedef {import('./types.js').ServerTrack} ServerTrack */

export class Subscriptions {
  /** @param {Convene} client */
  constructor(client) {
    this.c = client;
    /** @type {Map<string, {w?: number, h?: number}>} last constraint sent per track id */
    this._constraints = new Map();
    /** @type {Map<Element, string>} observed video elements → track id */
    this._observed = new Map();
    /** @type {Set<Element>} elements currently intersecting the viewport */
    this._visible = new Set();
    /** @type {WeakSet<Element>} elements the intersection observer has reported on at least once */
    this._measured = new WeakSet();
    this._resizeObs = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => this.schedule()) : null;
    this._intersectObs = typeof IntersectionObserver !== 'undefined'
      ? new IntersectionObserver((entries) => {
        for (const e of entries) {
          this._measured.add(e.target);
          if (e.isIntersecting) this._visible.add(e.target); else this._visible.delete(e.target);
        }
        this.schedule();
      })
      : null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._timer = null;
  }

  /**
   * A remote track arrived on m-line `mid`: record it in `client.remoteTracks` and emit `trackadded`.
   * @param {string} mid
   * @param {Omit<ServerTrack, 'mid'>} info
   * @param {MediaStreamTrack} track
   */
  add(mid, info, track) {
    /** @type {RemoteTrack} */
    const rt = {
      participantId: info.participant_id, trackId: info.track_id, kind: info.kind, source: info.source,
      mid, track, stream: new MediaStream([track]),
    };
    this.c.remoteTracks.set(mid, rt);
    this.c._emit('trackadded', rt);
  }

  /** @param {string} mid */
  remove(mid) {
    const rt = this.c.remoteTracks.get(mid);
    if (!rt) return;
    this.c.remoteTracks.delete(mid);
    this._constraints.delete(rt.trackId);
    for (const [el, id] of this._observed) if (id === rt.trackId) this.detach(/** @type {HTMLVideoElement} */ (el));
    this.c._emit('trackremoved', rt);
  }

  /** @param {HTMLVideoElement} el @param {RemoteTrack} remote */
  attach(el, remote) {
    if (el.srcObject !== remote.stream) el.srcObject = remote.stream;
    el.muted = true;
    el.playsInline = true;
    el.autoplay = true;
    el.play?.().catch(() => {});
    if (this._observed.get(el) === remote.trackId) return;
    this._observed.set(el, remote.trackId);
    this._resizeObs?.observe(el);
    this._intersectObs?.observe(el);
    this.schedule();
  }

  /** @param {HTMLVideoElement} el */
  detach(el) {
    if (!this._observed.has(el)) return;
    this._observed.delete(el);
    this._visible.delete(el);
    this._resizeObs?.unobserve(el);
    this._intersectObs?.unobserve(el);
    this.schedule();
  }

  /** Stop watching every element (the client shut down). */
  disconnect() {
    this._resizeObs?.disconnect();
    this._intersectObs?.disconnect();
    this._observed.clear();
  }

  /** Measure and send within 100 ms (coalesced). */
  schedule() {
    if (this._timer) return;
    this._timer = setTimeout(() => { this._timer = null; this._send(); }, 100);
  }

  _send() {
    /** @type {Map<string, {w: number, h: number}>} */
    const sizes = new Map();
    // Tracks whose elements the intersection observer has not reported on yet: whether they show is not known,
    // and saying "hidden" meanwhile would hold back a newcomer's first picture until the next report.
    /** @type {Set<string>} */
    const unknown = new Set();
    const dpr = globalThis.devicePixelRatio || 1;
    for (const [el, trackId] of this._observed) {
      if (this._intersectObs && !this._measured.has(el)) { unknown.add(trackId); continue; }
      const r = el.getBoundingClientRect();
      const shown = el.isConnected && r.width > 0 && r.height > 0 && (!this._intersectObs || this._visible.has(el))
        && getComputedStyle(el).visibility !== 'hidden';
      const cur = sizes.get(trackId) || { w: 0, h: 0 };
      if (shown) sizes.set(trackId, { w: Math.max(cur.w, Math.round(r.width * dpr)), h: Math.max(cur.h, Math.round(r.height * dpr)) });
      else sizes.set(trackId, cur);
    }
    // Remote videos nobody shows are hidden too.
    for (const rt of this.c.remoteTracks.values()) {
      if (rt.kind === 'video' && !sizes.has(rt.trackId) && !unknown.has(rt.trackId)) sizes.set(rt.trackId, { w: 0, h: 0 });
    }
    for (const [trackId, s] of sizes) {
      const prev = this._constraints.get(trackId);
      const hidden = s.w === 0 || s.h === 0;
      // Small changes do not matter to layer choice; skip them to stay quiet on the wire.
      if (prev && (hidden ? prev.w === undefined : prev.w !== undefined && Math.abs(prev.w - s.w) < 16 && Math.abs((prev.h || 0) - s.h) < 16)) continue;
      const msg = hidden ? { type: 'set_video_constraint', track: trackId } : { type: 'set_video_constraint', track: trackId, width: s.w, height: s.h };
      if (this.c._send(msg)) this._constraints.set(trackId, hidden ? {} : { w: s.w, h: s.h });
    }
  }
}
