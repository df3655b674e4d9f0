// End-to-end: the connection-quality indicator. One participant's media is impaired by an nftables rule on
// loopback (random loss on its UDP port, found from its own getStats); the other page's indicator for that
// participant leaves "good", the impaired page tells its user the connection is unstable, and both return
// when the rule is deleted. Needs root and nft (scripts/test-web.sh runs the tests in a namespace with only
// loopback, so the rule touches nothing else).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, openBrowser, joinByLink, screenshot, until, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-net-quality';
const TABLE = 'convene_test_impair';
const LOSS_PCT = 30;

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

/** @param {string} script an nft script, or arguments */
function nft(script) {
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft failed (${r.status}): ${r.stderr || r.error}`);
}

/** Random loss of LOSS_PCT % of the UDP packets to and from `port` (every loopback packet passes the input hook). @param {number} port */
const impair = (port) => nft(`table inet ${TABLE} {
  chain in {
    type filter hook input priority 0;
    udp dport ${port} numgen random mod 100 < ${LOSS_PCT} drop
    udp sport ${port} numgen random mod 100 < ${LOSS_PCT} drop
  }
}
`);
const lift = () => spawnSync('nft', ['delete', 'table', 'inet', TABLE], { encoding: 'utf8' });

describe('connection quality per tile', { timeout: 180_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  let idA = '';

  before(async () => {
    srv = await startServer();
    [A, Bb] = await Promise.all([openBrowser(), openBrowser()]);
    idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
  });

  after(async () => {
    lift();
    await teardown(srv, [A, Bb]);
  });

  const tileOfA = () => `.tile[data-participant-id="${idA}"][data-source="camera"]`;
  const levelOfA = () => Bb.page.evaluate((sel) => /** @type {HTMLElement | null} */ (document.querySelector(sel))?.dataset.quality || '', tileOfA());

  /** The local UDP port of the page's selected ICE candidate pair. */
  const udpPort = () => A.page.evaluate(async () => {
    const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).convene.peerConnection);
    const stats = await pc.getStats();
    /** @type {any} */
    let pair = null;
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    const local = pair && stats.get(pair.localCandidateId);
    return local ? { port: /** @type {number} */ (local.port), protocol: /** @type {string} */ (local.protocol) } : null;
  });

  it('1. the indicator for an impaired participant leaves "good", shows the figures, and comes back', async (t) => {
    assert.ok(await until(async () => (await levelOfA()) === 'good', 30_000), `no "good" indicator for Alice on Bob's page: "${await levelOfA()}"`);
    const local = await until(udpPort, 10_000);
    assert.ok(local && local.protocol === 'udp', `Alice's selected candidate: ${JSON.stringify(local)}`);
    try {
      impair(local.port);
      const impairedAt = Date.now();
      assert.ok(await until(async () => ['poor', 'bad'].includes(await levelOfA()), 45_000, 250), `still "${await levelOfA()}" under ${LOSS_PCT} % loss`);
      t.diagnostic(`Bob's indicator for Alice left "good" ${Date.now() - impairedAt} ms after the loss began`);
      // The figures on hover: loss and round-trip time.
      await Bb.page.hover(`${tileOfA()} .quality`);
      const panel = await Bb.page.textContent(`${tileOfA()} .quality-panel`) || '';
      assert.match(panel, /Packet loss: \d/);
      assert.match(panel, /Round-trip time: \d+ ms/);
      assert.ok(await Bb.page.isVisible(`${tileOfA()} .quality-panel`));
      assert.match(await Bb.page.getAttribute(`${tileOfA()} .quality`, 'aria-label') || '', /^Connection: (poor|bad)\. Packet loss/);
      await screenshot(Bb.page, 'net-quality-impaired');
      // Alice is told, without blocking anything, while her level stays bad.
      await A.page.waitForSelector('#net-notice:not([hidden])', { timeout: 30_000 });
      t.diagnostic(`Alice's "unstable" notice showed ${Date.now() - impairedAt} ms after the loss began`);
      await screenshot(A.page, 'net-quality-unstable');
    } finally {
      lift();
    }
    const liftedAt = Date.now();
    assert.ok(await until(async () => (await levelOfA()) === 'good', 60_000, 250), `not "good" again after the loss stopped: "${await levelOfA()}"`);
    t.diagnostic(`Bob's indicator for Alice was "good" again ${Date.now() - liftedAt} ms after the loss stopped`);
    await A.page.waitForSelector('#net-notice', { state: 'hidden', timeout: 30_000 });
    t.diagnostic(`Alice's notice went ${Date.now() - liftedAt} ms after the loss stopped`);
  });

  it('2. the notice waits out a bad blip shorter than 3 s and goes at once when the level recovers', async () => {
    // The SDK's sampler is stopped so that only these levels reach the app.
    const level = (/** @type {string} */ l) => A.page.evaluate(([lv, id]) => {
      const c = /** @type {any} */ (window).convene;
      c._quality.stop();
      c._emit('qualitychange', { participantId: id, level: lv, figures: { lossPct: 0, rttMs: 1 }, self: true, reported: null });
    }, [l, idA]);
    const shown = () => A.page.isVisible('#net-notice');
    await level('bad');
    await sleep(1000);
    await level('poor');
    await sleep(3000);
    assert.equal(await shown(), false, 'a 1 s blip showed the notice');
    await level('bad');
    await sleep(2000);
    assert.equal(await shown(), false, 'shown before 3 s of bad');
    await A.page.waitForSelector('#net-notice:not([hidden])', { timeout: 2500 });
    await level('good');
    assert.equal(await shown(), false, 'still shown after the level recovered');
  });
});
