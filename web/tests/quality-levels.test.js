// Unit tests (Node, no browser) of the SDK's connection-quality rating: the thresholds, the hysteresis, and
// what the monitor makes of a series of getStats() samples (levels, events, reports to the server).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateFigures, LevelTracker, QualityMonitor, QUALITY_THRESHOLDS, QUALITY_REPORT_MS } from '../sdk/quality.js';

describe('quality levels', () => {
  it('rates figures against the documented thresholds', () => {
    assert.deepEqual(QUALITY_THRESHOLDS, { poor: { lossPct: 2, rttMs: 300, frozenPct: 10 }, bad: { lossPct: 8, rttMs: 800, frozenPct: 30 } });
    assert.equal(rateFigures({}), 'good', 'nothing known is nothing wrong');
    assert.equal(rateFigures({ lossPct: 1.9, rttMs: 299, frozenPct: 9 }), 'good');
    assert.equal(rateFigures({ lossPct: 2 }), 'poor');
    assert.equal(rateFigures({ rttMs: 300 }), 'poor');
    assert.equal(rateFigures({ frozenPct: 10 }), 'poor');
    assert.equal(rateFigures({ lossPct: 8 }), 'bad');
    assert.equal(rateFigures({ rttMs: 800 }), 'bad');
    assert.equal(rateFigures({ frozenPct: 30 }), 'bad');
    assert.equal(rateFigures({ lossPct: 0, stalled: true }), 'bad', 'video arrives, nothing decodes');
  });

  it('gets worse at once, better only when clearly better for two samples', () => {
    const t = new LevelTracker();
    assert.equal(t.update({ lossPct: 0.5 }), 'good', 'the first sample sets the level');
    assert.equal(t.update({ lossPct: 12 }), 'bad', 'worse at once');
    assert.equal(t.update({ lossPct: 5 }), 'bad', 'one better sample is not enough');
    assert.equal(t.update({ lossPct: 5 }), 'poor');
    // 1.8 % is under the poor threshold (2) but not clearly (1.5): stays poor, however long.
    for (let i = 0; i < 5; i++) assert.equal(t.update({ lossPct: 1.8 }), 'poor');
    assert.equal(t.update({ lossPct: 1 }), 'poor');
    assert.equal(t.update({ lossPct: 3 }), 'poor', 'a worse sample resets the streak');
    assert.equal(t.update({ lossPct: 1 }), 'poor');
    assert.equal(t.update({ lossPct: 1 }), 'good');
  });
});

/** A stand-in for the client: what the monitor reads and calls. */
function fakeClient() {
  /** @type {any[]} */
  const events = [];
  /** @type {any[]} */
  const sent = [];
  const c = {
    participantId: 'me',
    /** @type {Map<string, any>} */
    participants: new Map([['me', { id: 'me' }], ['ada', { id: 'ada', connection_quality: null }], ['bob', { id: 'bob', connection_quality: null }]]),
    remoteTracks: new Map([
      ['a0', { participantId: 'ada', source: 'microphone' }], ['a1', { participantId: 'ada', source: 'camera' }],
      ['b0', { participantId: 'bob', source: 'microphone' }],
    ]),
    quality: new Map(),
    /** @param {string} type @param {any} detail */
    _emit: (type, detail) => events.push({ type, detail }),
    /** @param {any} msg */
    _send: (msg) => { sent.push(msg); return true; },
  };
  return { c, events, sent };
}

/**
 * Statistics after `n` samples of 2 s: Ada's audio and video lose `adaLoss` of their packets, Bob's audio
 * none; own packets are all received by the server; round trip 40 ms.
 * @param {number} n @param {(n: number) => number} adaLoss
 */
function stats(n, adaLoss) {
  const recv = 50 * n;
  let lostA = 0;
  for (let i = 1; i <= n; i++) lostA += Math.round(50 * adaLoss(i));
  const m = new Map();
  const add = (/** @type {any} */ s) => m.set(s.id, s);
  add({ id: 'T', type: 'transport', selectedCandidatePairId: 'CP' });
  add({ id: 'CP', type: 'candidate-pair', currentRoundTripTime: 0.04 });
  add({ id: 'O', type: 'outbound-rtp', packetsSent: 100 * n });
  add({ id: 'RI', type: 'remote-inbound-rtp', localId: 'O', packetsLost: 0 });
  add({ id: 'IA0', type: 'inbound-rtp', kind: 'audio', mid: 'a0', packetsReceived: recv - lostA, packetsLost: lostA, jitter: 0.012 });
  add({ id: 'IA1', type: 'inbound-rtp', kind: 'video', mid: 'a1', packetsReceived: 4 * recv, packetsLost: 0, framesDecoded: 50 * n, totalFreezesDuration: 0 });
  add({ id: 'IB0', type: 'inbound-rtp', kind: 'audio', mid: 'b0', packetsReceived: recv, packetsLost: 0, jitter: 0.005 });
  return m;
}

describe('the quality monitor', () => {
  it('rates a remote by what arrives from it, yourself by your own link, and reports yourself', () => {
    const { c, events, sent } = fakeClient();
    const q = new QualityMonitor(/** @type {any} */ (c));
    const loss = (/** @type {number} */ i) => (i >= 4 && i < 8 ? 0.3 : 0);
    for (let i = 0; i <= 3; i++) q.apply(stats(i, loss), 2 * i);
    assert.equal(c.quality.get('ada').level, 'good');
    assert.equal(c.quality.get('ada').figures.fps, 25);
    assert.equal(c.quality.get('ada').figures.jitterMs, 12);
    assert.equal(c.quality.get('me').level, 'good');
    assert.equal(c.quality.get('me').figures.rttMs, 40);
    assert.deepEqual(sent, [{ type: 'set_connection_quality', level: 'good', loss_pct: 0, rtt_ms: 40 }], 'reported once');
    // Ada's packets start getting lost: Ada goes bad, Bob and you stay good (your downlink is judged by
    // the least lossy sender: Ada's loss is not yours).
    q.apply(stats(4, loss), 8);
    assert.equal(c.quality.get('ada').level, 'bad');
    assert.ok(c.quality.get('ada').figures.lossPct >= 8, JSON.stringify(c.quality.get('ada')));
    assert.equal(c.quality.get('bob').level, 'good');
    assert.equal(c.quality.get('me').level, 'good');
    assert.ok(events.some((e) => e.type === 'qualitychange' && e.detail.participantId === 'ada' && e.detail.level === 'bad' && !e.detail.self));
    for (let i = 5; i <= 8; i++) q.apply(stats(i, loss), 2 * i);
    assert.notEqual(c.quality.get('ada').level, 'good', 'still inside the smoothing window');
    for (let i = 9; i <= 13; i++) q.apply(stats(i, loss), 2 * i);
    assert.equal(c.quality.get('ada').level, 'good', 'back once clearly better for two samples');
    assert.equal(sent.length, 1, 'your own level never changed: no new report before the interval');
  });

  it("takes a remote's own report into account: the worse of the two", () => {
    const { c } = fakeClient();
    const q = new QualityMonitor(/** @type {any} */ (c));
    c.participants.get('bob').connection_quality = { level: 'poor', loss_pct: 3, rtt_ms: 420 };
    for (let i = 0; i <= 2; i++) q.apply(stats(i, () => 0), 2 * i);
    const bob = c.quality.get('bob');
    assert.equal(bob.level, 'poor');
    assert.deepEqual(bob.reported, { level: 'poor', lossPct: 3, rttMs: 420 });
    assert.equal(bob.figures.rttMs, 420);
    assert.equal(bob.figures.lossPct, 3, 'the worse of reported (3) and received (0)');
  });

  it('reports a level change at once and changed figures at most every 10 s', (t) => {
    const { c, sent } = fakeClient();
    const q = new QualityMonitor(/** @type {any} */ (c));
    let now = 1_000_000;
    t.mock.method(Date, 'now', () => now);
    const me = (/** @type {string} */ level, /** @type {number} */ rttMs) => c.quality.set('me', { participantId: 'me', self: true, level, figures: { lossPct: 0, rttMs }, reported: null });
    me('good', 40); q.report();
    me('good', 55); now += 2000; q.report();
    assert.equal(sent.length, 1, 'figures held');
    me('poor', 350); now += 2000; q.report();
    assert.equal(sent.at(-1).level, 'poor', 'a level change goes at once');
    me('poor', 360); now += QUALITY_REPORT_MS - 1; q.report();
    assert.equal(sent.length, 2);
    now += 1; q.report();
    assert.deepEqual(sent.at(-1), { type: 'set_connection_quality', level: 'poor', loss_pct: 0, rtt_ms: 360 });
    q.resetReport(); q.report();
    assert.equal(sent.length, 4, 'after a (re)join it reports again at once');
  });
});
