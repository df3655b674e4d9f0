// End-to-end: a participant whose browser refuses the camera and microphone still joins: it is told
// why, receives the others' video and audio, and chats.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, screenshot, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-denied';

describe('camera and microphone denied', { timeout: 90_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let A;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let D;

  before(async () => {
    srv = await startServer();
    [A, D] = await Promise.all([openBrowser(), openBrowser({ denyMedia: true })]);
  });

  after(() => teardown(srv, [A, D]));

  it('10. joins with a clear message, decodes the others\' video, hears them, and chat works both ways', async () => {
    const idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    const idD = await joinByLink(D.page, srv.url, ROOM, 'Dana');

    // The SDK reports both refusals; the app says so in one visible message. `connected` can come before
    // the devices have settled (join() resolves after both): wait for the second refusal.
    await D.page.waitForFunction(() => /** @type {any} */ (window).convene.mediaErrors.length >= 2, null, { timeout: 10_000 }).catch(() => {});
    const errs = await D.page.evaluate(() => /** @type {any} */ (window).convene.mediaErrors.map((/** @type {any} */ e) => [e.source, e.name, e.denied]));
    assert.deepEqual(errs, [['microphone', 'NotAllowedError', true], ['camera', 'NotAllowedError', true]]);
    await D.page.waitForSelector('#toast:not([hidden])');
    assert.match(await D.page.textContent('#toast') || '', /microphone and camera was denied/);
    // Its controls show both off; the others see it muted, without video.
    assert.equal(await D.page.getAttribute('#c-mic', 'aria-label'), 'Unmute microphone (m)');
    assert.equal(await D.page.getAttribute('#c-cam', 'aria-label'), 'Turn camera on (v)');
    await A.page.waitForSelector(`.tile[data-participant-id="${idD}"][data-mic-muted="true"]:not(.has-video)`);

    // Media from Alice flows to Dana.
    const ok = await waitMedia(D.page, (x, y) => (y[`${idA}:camera`]?.frames ?? 0) > (x[`${idA}:camera`]?.frames ?? 0) + 5
      && (y[`${idA}:microphone`]?.audioBytes ?? 0) > (x[`${idA}:microphone`]?.audioBytes ?? 0));
    assert.ok(ok, `Dana does not receive Alice: ${JSON.stringify(await mediaFrom(D.page))} ${await D.page.evaluate(async () => {
      const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).convene.peerConnection);
      /** @type {string[]} */
      const cands = [];
      (await pc.getStats()).forEach((s) => { if (s.type === 'local-candidate') cands.push(`${s.candidateType} ${s.address} ${s.protocol}`); });
      return JSON.stringify({ conn: pc.connectionState, ice: pc.iceConnectionState, gathering: pc.iceGatheringState, cands });
    })}`);
    await D.page.waitForSelector(`.tile.has-video[data-participant-id="${idA}"]`);
    await sleep(300);
    await screenshot(D.page, 'media-denied');

    // Chat both ways through the UI.
    await D.page.click('#c-chat');
    await D.page.fill('#chat-input', 'Hello without a camera');
    await D.page.press('#chat-input', 'Enter');
    await A.page.waitForFunction(() => document.getElementById('chat-list')?.textContent?.includes('Hello without a camera'), null, { timeout: 10_000 });
    await A.page.click('#c-chat');
    await A.page.fill('#chat-input', 'Hi Dana');
    await A.page.press('#chat-input', 'Enter');
    await D.page.waitForFunction(() => document.getElementById('chat-list')?.textContent?.includes('Hi Dana'), null, { timeout: 10_000 });
  });
});
