// Issue 19, join fast: the SDK joins while the devices open and makes its peer connection before `joined`.
// What that must not break: the ICE servers `joined` brings reach that peer connection; a device that opens
// after the join is sent to the others; one that fails after the join is announced muted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, waitMedia, mediaFrom, teardown } from './helpers.js';

const ROOM = 'e2e-join-fast';
/** A TURN server nobody runs: Chromium tries it and falls back on the host candidates of loopback. */
const TURN = 'turn:127.0.0.1:3479';

/**
 * Devices answer only after `ms` (a permission prompt, a slow camera): with the tracks, or refused.
 * @param {import('playwright-core').Page} page @param {number} ms @param {boolean} refuse
 */
function slowDevices(page, ms, refuse) {
  return page.addInitScript(([delay, no]) => {
    const md = navigator.mediaDevices;
    const orig = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => new Promise((resolve, reject) => setTimeout(() => {
      if (no) reject(new DOMException('Permission denied', 'NotAllowedError'));
      else orig(c).then(resolve, reject);
    }, delay));
  }, /** @type {[number, boolean]} */ ([ms, refuse]));
}

/** When the page marked `name` (ms since navigation start). @param {import('playwright-core').Page} page @param {string} name */
function markAt(page, name) {
  return page.evaluate((n) => performance.getEntriesByName(n, 'mark')[0]?.startTime ?? null, name);
}

describe('joining while the devices open', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let A;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let B;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let C;

  before(async () => {
    srv = await startServer([`media.turn_urls=${TURN}`, 'media.turn_username=u', 'media.turn_credential=p']);
    [A, B, C] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [A, B, C]));

  it('19. the peer connection made before joined gets the ICE servers, and a camera that opens late is sent', async () => {
    const idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await slowDevices(B.page, 1500, false);
    const idB = await joinByLink(B.page, srv.url, ROOM, 'Bob');
    // One peer connection, made before `joined`, now configured with the server's TURN server.
    const pcs = await B.page.evaluate(() => /** @type {any} */ (window).__pcs.map((/** @type {RTCPeerConnection} */ pc) => pc.getConfiguration().iceServers));
    assert.equal(pcs.length, 1, 'one peer connection');
    assert.deepEqual(pcs[0], [{ urls: [TURN], username: 'u', credential: 'p' }]);
    const [pcAt, joinedAt] = [await markAt(B.page, 'convene:pc'), await markAt(B.page, 'convene:joined')];
    assert.ok(pcAt !== null && joinedAt !== null && pcAt < joinedAt, `made before joined: ${pcAt} < ${joinedAt}`);
    // The devices came after `joined`: the camera went to the existing sender, and Alice sees Bob.
    await B.page.waitForFunction(() => performance.getEntriesByName('convene:media', 'mark').length > 0, null, { timeout: 10_000 });
    const mediaAt = await markAt(B.page, 'convene:media');
    assert.ok(mediaAt !== null && mediaAt > joinedAt, `devices after joined: ${mediaAt} > ${joinedAt}`);
    const flows = await waitMedia(A.page, (x, y) => (y[`${idB}:camera`]?.frames ?? 0) > (x[`${idB}:camera`]?.frames ?? 0) + 5
      && (y[`${idB}:microphone`]?.audioBytes ?? 0) > (x[`${idB}:microphone`]?.audioBytes ?? 0));
    assert.ok(flows, `Alice receives Bob: ${JSON.stringify(await mediaFrom(A.page))}`);
    // And Bob receives Alice over the same connection.
    const back = await waitMedia(B.page, (x, y) => (y[`${idA}:camera`]?.frames ?? 0) > (x[`${idA}:camera`]?.frames ?? 0) + 5);
    assert.ok(back, `Bob receives Alice: ${JSON.stringify(await mediaFrom(B.page))}`);
  });

  it('19. devices refused after the join are announced muted to the others', async () => {
    await slowDevices(C.page, 1500, true);
    const idC = await joinByLink(C.page, srv.url, ROOM, 'Carol');
    // The join went out asking for both; the refusal came later.
    const told = await A.page.evaluate((id) => /** @type {any} */ (window).convene.participants.get(id), idC);
    assert.ok(told, 'Alice knows Carol');
    await A.page.waitForFunction((id) => {
      const p = /** @type {any} */ (window).convene.participants.get(id);
      return p && p.mic_muted && p.camera_muted;
    }, idC, { timeout: 10_000 });
    const errs = await C.page.evaluate(() => /** @type {any} */ (window).convene.mediaErrors.map((/** @type {any} */ e) => [e.source, e.denied]));
    assert.deepEqual(errs.sort(), [['camera', true], ['microphone', true]]);
    assert.deepEqual(await C.page.evaluate(() => /** @type {any} */ (window).convene.muted), { mic: true, camera: true });
  });
});
