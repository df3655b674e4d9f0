// Convene browser SDK: connection quality. Every 2 s the monitor reads the peer connection's statistics and
// rates your own link and each remote participant's as 'good', 'poor' or 'bad', smoothed over the last three
// samples and with hysteresis, so that a level does not flicker. Your own level and figures go to the server
// (`set_connection_quality`), which shows them to the others as your `connection_quality`; a remote
// participant's level is the worse of what it reports about its own link and what this client receives
// from it (as Jitsi does). See docs/sdk.md, "Connection quality".

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').QualityLevel} QualityLevel */
/** @typedef {import('./types.js').QualityInfo} QualityInfo */
/** @typedef {import('./types.js').Participant} Participant */

/** How often statistics are read. */
export const QUALITY_SAMPLE_MS = 2000;
/** Samples that figures are smoothed over (about 6 s). */
const WINDOW = 3;
/**
 * A figure at or above a `poor` threshold makes the level at least poor; at or above a `bad` one, bad.
 * `frozenPct`: share of the time a received video was frozen (Chrome's `totalFreezesDuration`).
 */
export const QUALITY_THRESHOLDS = Object.freeze({
  poor: Object.freeze({ lossPct: 2, rttMs: 300, frozenPct: 10 }),
  bad: Object.freeze({ lossPct: 8, rttMs: 800, frozenPct: 30 }),
});
/** A level improves only when the figures are under 3/4 of the thresholds for 2 samples in a row. */
const RECOVER_FACTOR = 0.75;
const RECOVER_SAMPLES = 2;
/** Fewer packets than this in the window say nothing about loss (a muted microphone sends a few). */
const MIN_PACKETS = 30;
/** A received video counts as stalled when no frame was decoded over at least this long. */
const STALL_SECS = 3.5;
/** Own figures are sent again after this long when they changed (a level change is sent at once). */
export const QUALITY_REPORT_MS = 10_000;
/** The protocol's bounds of `set_connection_quality` (docs/protocol.md). */
const MAX_RTT_MS = 60_000;

const RANK = { good: 0, poor: 1, bad: 2 };

/**
 * What the thresholds make of some figures; `scale` below 1 makes them stricter (used to recover).
 * @typedef {{ lossPct?: number | null, rttMs?: number | null, frozenPct?: number, stalled?: boolean }} Rated
 * @param {Rated} f @param {number} [scale] @returns {QualityLevel}
 */
export function rateFigures(f, scale = 1) {
  /** @param {{ lossPct: number, rttMs: number, frozenPct: number }} t */
  const over = (t) => (f.lossPct ?? 0) >= t.lossPct * scale || (f.rttMs ?? 0) >= t.rttMs * scale
    || (f.frozenPct ?? 0) >= t.frozenPct * scale;
  if (f.stalled || over(QUALITY_THRESHOLDS.bad)) return 'bad';
  return over(QUALITY_THRESHOLDS.poor) ? 'poor' : 'good';
}

/** @param {QualityLevel} a @param {QualityLevel | null | undefined} b @returns {QualityLevel} the worse */
export function worse(a, b) {
  return b && RANK[b] > RANK[a] ? b : a;
}

/** A level that gets worse at once and better only when clearly better for a while (hysteresis). */
export class LevelTracker {
  constructor() {
    /** @type {QualityLevel | null} */
    this.level = null;
    this.streak = 0;
  }

  /** @param {Rated} f @returns {QualityLevel} */
  update(f) {
    const raw = rateFigures(f);
    if (this.level === null || RANK[raw] > RANK[this.level]) {
      this.level = raw;
      this.streak = 0;
      return raw;
    }
    const clearly = rateFigures(f, RECOVER_FACTOR);
    if (RANK[clearly] < RANK[this.level]) {
      if (++this.streak >= RECOVER_SAMPLES) {
        this.level = clearly;
        this.streak = 0;
      }
    } else {
      this.streak = 0;
    }
    return this.level;
  }
}

/** Counter deltas per statistics id, summed over the last WINDOW samples. */
class Deltas {
  constructor() {
    /** @type {Map<string, Record<string, number>>} */
    this.last = new Map();
    /** @type {Map<string, Record<string, number>[]>} */
    this.hist = new Map();
  }

  /**
   * Records the counters of `id` now; returns the sums of their increases over the window (null before
   * there are two samples). A counter that went down (a restarted stream) counts as no increase.
   * @param {string} id @param {Record<string, number>} now
   */
  add(id, now) {
    const prev = this.last.get(id);
    this.last.set(id, now);
    const h = this.hist.get(id) || [];
    this.hist.set(id, h);
    if (prev) {
      /** @type {Record<string, number>} */
      const d = {};
      for (const k of Object.keys(now)) d[k] = Math.max(0, now[k] - (prev[k] ?? now[k]));
      h.push(d);
      if (h.length > WINDOW) h.shift();
    }
    if (!h.length) return null;
    /** @type {Record<string, number>} */
    const sum = {};
    for (const d of h) for (const k of Object.keys(d)) sum[k] = (sum[k] || 0) + d[k];
    return sum;
  }

  /** Forgets the ids that are gone. @param {Set<string>} seen */
  prune(seen) {
    for (const id of [...this.last.keys()]) {
      if (!seen.has(id)) { this.last.delete(id); this.hist.delete(id); }
    }
  }
}

/**
 * @typedef {object} Received  what this client received from one remote participant over the window
 * @property {number | null} lossPct  the worst of its streams with enough packets
 * @property {number} [fps]           frames decoded per second of its video (camera first)
 * @property {number} [frozenPct]
 * @property {boolean} [stalled]      its video arrives but nothing is decoded
 * @property {number} [jitterMs]      of its audio
 */

/** @param {{ kind: string, source: string, w: Record<string, number>, jitterMs: number }[]} streams @returns {Received} */
function received(streams) {
  /** @type {Received} */
  const r = { lossPct: null };
  for (const s of streams) {
    const n = s.w.lost + s.w.recv;
    if (n >= MIN_PACKETS) r.lossPct = Math.max(r.lossPct ?? 0, (100 * s.w.lost) / n);
    if (s.kind === 'audio' && s.w.recv >= MIN_PACKETS) r.jitterMs = Math.max(r.jitterMs ?? 0, s.jitterMs);
  }
  const video = streams.filter((s) => s.kind === 'video' && s.w.recv >= MIN_PACKETS && s.w.t > 0)
    .sort((a, b) => Number(b.source === 'camera') - Number(a.source === 'camera'))[0];
  if (video) {
    r.fps = video.w.frames / video.w.t;
    r.frozenPct = Math.min(100, (100 * video.w.freeze) / video.w.t);
    r.stalled = video.w.frames === 0 && video.w.t >= STALL_SECS;
  }
  return r;
}

/** The round-trip time to the server in ms: the selected candidate pair's, else the RTCP one. @param {Map<string, any>} stats */
function roundTripMs(stats) {
  for (const s of stats.values()) {
    if (s.type !== 'transport' || !s.selectedCandidatePairId) continue;
    const rtt = stats.get(s.selectedCandidatePairId)?.currentRoundTripTime;
    if (typeof rtt === 'number') return rtt * 1000;
  }
  for (const s of stats.values()) {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') return s.currentRoundTripTime * 1000;
  }
  const rr = [...stats.values()].filter((s) => s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number');
  return rr.length ? (1000 * rr.reduce((a, s) => a + s.roundTripTime, 0)) / rr.length : null;
}

/** @param {number | null | undefined} x @param {number} [digits] */
const round = (x, digits = 0) => (typeof x === 'number' ? Math.round(x * 10 ** digits) / 10 ** digits : null);

export class QualityMonitor {
  /** @param {Convene} client */
  constructor(client) {
    this.c = client;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @type {RTCPeerConnection | null} the connection the counters belong to */
    this.pc = null;
    this.deltas = new Deltas();
    /** @type {number[]} */
    this.rtts = [];
    /** @type {Map<string, LevelTracker>} by participant id */
    this.trackers = new Map();
    /** @type {{ level: QualityLevel, loss_pct: number, rtt_ms: number, at: number } | null} last report sent */
    this.sent = null;
    this.busy = false;
  }

  start() {
    if (!this.timer) this.timer = setInterval(() => { this.sample(); }, QUALITY_SAMPLE_MS);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The server may hold nothing (a new join) or something old (a resume): report at the next sample. */
  resetReport() {
    this.sent = null;
  }

  async sample() {
    const pc = this.c.peerConnection;
    if (this.busy || !pc || pc.connectionState !== 'connected') return;
    if (pc !== this.pc) {
      // A new peer connection starts its counters at zero.
      this.pc = pc;
      this.deltas = new Deltas();
      this.rtts = [];
    }
    this.busy = true;
    try {
      /** @type {Map<string, any>} */
      const stats = new Map();
      (await pc.getStats()).forEach((s) => stats.set(s.id, s));
      this.apply(stats, performance.now() / 1000);
    } catch {
      // The connection closed while being read: the next sample sees the new one.
    } finally {
      this.busy = false;
    }
  }

  /** @param {Map<string, any>} stats @param {number} t seconds */
  apply(stats, t) {
    const c = this.c;
    const seen = new Set();
    let upLost = 0;
    let upSent = 0;
    /** @type {Map<string, { kind: string, source: string, w: Record<string, number>, jitterMs: number }[]>} */
    const from = new Map();
    for (const s of stats.values()) {
      if (s.type === 'remote-inbound-rtp' && stats.get(s.localId)) {
        seen.add(s.id);
        const w = this.deltas.add(s.id, { lost: s.packetsLost || 0, sent: stats.get(s.localId).packetsSent || 0 });
        if (w) { upLost += w.lost; upSent += w.sent; }
      } else if (s.type === 'inbound-rtp') {
        const rt = c.remoteTracks.get(s.mid);
        if (!rt) continue;
        seen.add(s.id);
        const w = this.deltas.add(s.id, { t, lost: s.packetsLost || 0, recv: s.packetsReceived || 0, frames: s.framesDecoded || 0, freeze: s.totalFreezesDuration || 0 });
        if (!w) continue;
        const list = from.get(rt.participantId) || [];
        from.set(rt.participantId, list);
        list.push({ kind: s.kind, source: rt.source, w, jitterMs: (s.jitter || 0) * 1000 });
      }
    }
    this.deltas.prune(seen);
    const rtt = roundTripMs(stats);
    if (rtt !== null) { this.rtts.push(rtt); if (this.rtts.length > WINDOW) this.rtts.shift(); }

    /** @type {Map<string, Received>} */
    const byRemote = new Map();
    for (const [id, p] of c.participants) {
      if (id === c.participantId) continue;
      const r = received(from.get(id) || []);
      byRemote.set(id, r);
      this.setRemote(p, r);
    }
    const uplink = upSent >= MIN_PACKETS ? Math.min(100, (100 * upLost) / upSent) : null;
    this.setSelf(uplink, downlinkLoss(c.participants, byRemote));
    for (const id of [...c.quality.keys()]) if (!c.participants.has(id)) c.quality.delete(id);
    for (const id of [...this.trackers.keys()]) if (!c.participants.has(id)) this.trackers.delete(id);
    this.report();
  }

  /** @param {Participant} p @param {Received} r */
  setRemote(p, r) {
    const rep = p.connection_quality || null;
    const measured = r.lossPct !== null || r.fps !== undefined;
    if (!measured && !rep) { this.c.quality.delete(p.id); return; }
    const tracker = this.trackers.get(p.id) || new LevelTracker();
    this.trackers.set(p.id, tracker);
    const mine = measured ? tracker.update({ lossPct: r.lossPct, frozenPct: r.frozenPct, stalled: r.stalled }) : 'good';
    const lossPct = r.lossPct === null ? rep?.loss_pct ?? null : Math.max(r.lossPct, rep?.loss_pct ?? 0);
    this.set({
      participantId: p.id, self: false, level: worse(mine, rep?.level),
      figures: {
        lossPct: round(lossPct, 1), rttMs: rep ? rep.rtt_ms : null,
        ...(r.fps !== undefined ? { fps: round(r.fps) ?? 0 } : {}),
        ...(r.jitterMs !== undefined ? { jitterMs: round(r.jitterMs) ?? 0 } : {}),
      },
      reported: rep ? { level: rep.level, lossPct: rep.loss_pct, rttMs: rep.rtt_ms } : null,
    });
  }

  /** @param {number | null} uplink @param {number | null} downlink */
  setSelf(uplink, downlink) {
    const c = this.c;
    const rttMs = this.rtts.length ? this.rtts.reduce((a, b) => a + b, 0) / this.rtts.length : null;
    const lossPct = uplink === null && downlink === null ? null : Math.max(uplink ?? 0, downlink ?? 0);
    if (!c.participantId || (rttMs === null && lossPct === null)) return;
    const tracker = this.trackers.get(c.participantId) || new LevelTracker();
    this.trackers.set(c.participantId, tracker);
    this.set({
      participantId: c.participantId, self: true, level: tracker.update({ lossPct, rttMs }),
      figures: { lossPct: round(lossPct, 1), rttMs: round(rttMs), uplinkLossPct: round(uplink, 1), downlinkLossPct: round(downlink, 1) },
      reported: null,
    });
  }

  /** Stores `q` and emits `qualitychange` when it differs from what was there. @param {QualityInfo} q */
  set(q) {
    const before = this.c.quality.get(q.participantId);
    if (before && JSON.stringify(before) === JSON.stringify(q)) return;
    this.c.quality.set(q.participantId, q);
    this.c._emit('qualitychange', q);
  }

  /** Sends own level at once when it changed, figures at most every QUALITY_REPORT_MS. */
  report() {
    const c = this.c;
    const me = c.participantId ? c.quality.get(c.participantId) : undefined;
    if (!me || me.figures.rttMs === null) return;
    const msg = {
      type: 'set_connection_quality', level: me.level,
      loss_pct: Math.min(100, me.figures.lossPct ?? 0), rtt_ms: Math.min(MAX_RTT_MS, me.figures.rttMs),
    };
    const now = Date.now();
    const s = this.sent;
    const due = !s || s.level !== msg.level
      || (now - s.at >= QUALITY_REPORT_MS && (s.loss_pct !== msg.loss_pct || s.rtt_ms !== msg.rtt_ms));
    if (due && c._send(msg)) this.sent = { level: msg.level, loss_pct: msg.loss_pct, rtt_ms: msg.rtt_ms, at: now };
  }
}

/**
 * Own downlink loss: what arrives from everyone is lost on the way to you too, so it is the lowest loss among
 * the remote participants that do not report a poor link of their own (their own bad uplink is not yours).
 * @param {Map<string, Participant>} participants @param {Map<string, Received>} byRemote @returns {number | null}
 */
function downlinkLoss(participants, byRemote) {
  let low = null;
  for (const [id, r] of byRemote) {
    const rep = participants.get(id)?.connection_quality;
    if (r.lossPct === null || (rep && rep.level !== 'good')) continue;
    low = low === null ? r.lossPct : Math.min(low, r.lossPct);
  }
  return low;
}
