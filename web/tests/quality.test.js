// End-to-end: adaptive quality. A publisher sends three simulcast layers; each subscriber receives the
// layer that fits the size it shows the video at, and layers that no subscriber wants stop being encoded
// (the server's `layers_unused` makes the SDK deactivate those encodings).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, inbound, outboundCamera, screenshot, until, sleep, teardown, tileSize } from './helpers.js';

const ROOM = 'e2e-quality';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('simulcast layers follow the displayed size', { timeout: 150_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  /** @type {B} */ let C;
  let idA = '';

  before(async () => {
    srv = await startServer();
    [A, Bb, C] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [A, Bb, C]));

  /** Width of the frames `b` decodes from A's camera. @param {B} b */
  const widthFromA = async (b) => (await inbound(b.page)).find((s) => s.participantId === idA && s.source === 'camera' && s.kind === 'video')?.frameWidth ?? 0;

  /** @param {B} b @param {'small'|'large'|null} size */
  const setSize = (b, size) => tileSize(b.page, idA, size);

  /** What the test saw, for failure messages: signaling and statistics of every page (last messages). */
  const diag = async () => JSON.stringify({
    A: { out: await outboundCamera(A.page), sig: await A.page.evaluate(() => /** @type {any} */ (window).__sig.slice(-12)) },
    B: { width: await widthFromA(Bb), sig: await Bb.page.evaluate(() => /** @type {any} */ (window).__sig.slice(-6)) },
    C: { width: await widthFromA(C), sig: await C.page.evaluate(() => /** @type {any} */ (window).__sig.slice(-6)) },
  });

  /**
   * Waits until the bytes A sends on `rid` stop growing (`stopped`) or grow again, over 2 s samples.
   * @param {string} rid @param {boolean} stopped
   */
  const ridFlow = (rid, stopped) => until(async () => {
    const x = (await outboundCamera(A.page))[rid];
    await sleep(2000);
    const y = (await outboundCamera(A.page))[rid];
    const grew = y.bytesSent - x.bytesSent > 2000;
    return stopped ? (!grew && !y.active) : (grew && y.active);
  }, 20_000, 0);

  it('11. a large tile gets the full layer, a 120 px tile the lowest, and back again', async () => {
    idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await joinByLink(Bb.page, srv.url, ROOM, 'Bob', '&cam=0&mic=0');
    await joinByLink(C.page, srv.url, ROOM, 'Carol', '&cam=0&mic=0');
    // The SDK offers three layers (q, h, f at 1/4, 1/2 and full size of the camera). Which of them are
    // encoded depends on what subscribers want (see 12), so their sizes are read when they flow.
    assert.deepEqual(Object.keys(await outboundCamera(A.page)).sort(), ['f', 'h', 'q']);
    // Layer sizes can change while the encoder adapts: compare with what A sends at that moment (0 = not sent).
    const fullW = async () => (await outboundCamera(A.page)).f.frameWidth;
    const lowW = async () => (await outboundCamera(A.page)).q.frameWidth;

    for (const b of [Bb, C]) await setSize(b, 'large');
    for (const b of [Bb, C]) {
      assert.ok(await until(async () => { const w = await fullW(); return w > 0 && (await widthFromA(b)) === w; }, 30_000), `large tile does not get the full layer: ${await diag()}`);
    }
    await screenshot(Bb.page, 'quality-large');

    await setSize(Bb, 'small');
    assert.ok(await until(async () => { const w = await lowW(); return w > 0 && (await widthFromA(Bb)) === w; }, 15_000), `small tile does not drop to the low layer: ${await diag()}`);
    // Carol still shows it large: unaffected. Read twice (her decoded width, then A's full layer),
    // the two can straddle a size change of Chrome's encoder (once seen: 640 against 1280), so the
    // check waits, like the others, for them to agree.
    assert.ok(await until(async () => { const w = await fullW(); return w > 0 && (await widthFromA(C)) === w; }, 15_000), `large tile of Carol left the full layer: ${await diag()}`);
    const [low, full] = [await lowW(), await fullW()];
    // The low layer is a quarter of the camera; the full one may be scaled down for a while when
    // Chrome's encoder adapts to CPU load (seen: 320 against 960), so only the order is fixed.
    assert.ok(low > 0 && low < full, `low layer ${low} px, full ${full} px`);
    await screenshot(Bb.page, 'quality-small');

    await setSize(Bb, 'large');
    assert.ok(await until(async () => (await widthFromA(Bb)) === await fullW(), 15_000), `tile shown large again does not get the full layer: ${await diag()}`);
    const sent = await Bb.page.evaluate(() => /** @type {any[]} */ (/** @type {any} */ (window).__sig).filter((m) => m.dir === 'out' && m.width).map((m) => m.width));
    // The tile's size transition is reported on the way (e.g. 256, 1063; changes under 16 px are not sent):
    // what matters is large → 120 → large.
    const firstLarge = sent.findIndex((w) => w >= 1100);
    assert.ok(firstLarge >= 0 && sent.lastIndexOf(120) > firstLarge && sent.at(-1) >= 1100, `constraints sent: ${JSON.stringify(sent)}`);
  });

  it('12. layers nobody receives stop being encoded (layers_unused), and restart when wanted', async () => {
    // Bob small, Carol large: the full layer keeps flowing.
    await setSize(Bb, 'small');
    assert.ok(await until(async () => (await widthFromA(Bb)) === (await outboundCamera(A.page)).q.frameWidth, 15_000), `Bob not on the low layer: ${await diag()}`);
    assert.ok(await ridFlow('f', false), `f stopped although Carol shows the tile large: ${await diag()}`);
    // Both small: only the low layer is wanted; the publisher turns the others off.
    await setSize(C, 'small');
    assert.ok(await ridFlow('f', true), `f still encoded while nobody wants it: ${await diag()}`);
    const o = await outboundCamera(A.page);
    assert.deepEqual([o.q.active, o.h.active, o.f.active], [true, false, false], JSON.stringify(o));
    const unused = await A.page.evaluate(() => /** @type {any[]} */ (/** @type {any} */ (window).__sig).filter((m) => m.dir === 'in').map((m) => m.rids));
    assert.deepEqual(unused.at(-1), ['f', 'h'], `layers_unused: ${JSON.stringify(unused)}`);
    // Video keeps flowing on the low layer.
    const frames = async () => (await inbound(C.page)).find((s) => s.participantId === idA && s.kind === 'video')?.framesDecoded ?? 0;
    const x = await frames();
    await sleep(1500);
    const y = await frames();
    assert.ok(y > x + 5, `video from A stalled on the low layer: ${x} → ${y}`);

    // Carol large again: the publisher encodes f again and Carol gets it.
    await setSize(C, 'large');
    assert.ok(await ridFlow('f', false), `f not re-enabled: ${await diag()}`);
    assert.ok(await until(async () => (await widthFromA(C)) === (await outboundCamera(A.page)).f.frameWidth, 15_000), `Carol does not get the full layer back: ${await diag()}`);
  });

  it('13. a mid-size tile keeps one layer (layers_unused does not flap)', async () => {
    // Both show A's tile at the app's grid size (~520 px wide: the 640-wide middle layer fits).
    for (const b of [Bb, C]) await setSize(b, null);
    await sleep(4000);
    const count = () => A.page.evaluate(() => /** @type {any[]} */ (/** @type {any} */ (window).__sig).filter((m) => m.dir === 'in').length);
    const before = await count();
    await sleep(5000);
    const reports = (await count()) - before;
    assert.ok(reports <= 1, `${reports} layers_unused in 5 s for an unchanged layout: ${await diag()}`);
  });
});
