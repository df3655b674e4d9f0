// End-to-end: real Chromium browsers with fake camera/microphone in one meeting on a real server.
// Run inside `unshare -n` with loopback up (scripts/test-web.sh does it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, screenshot, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-main';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('a meeting of three browsers', { timeout: 240_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  /** @type {B} */ let C;
  /** @type {Record<string, string>} */
  const id = {};

  before(async () => {
    srv = await startServer();
    [A, Bb, C] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [A, Bb, C]));

  /** @param {B} b @param {string[]} others */
  async function assertSeesAndHears(b, others) {
    const ok = await waitMedia(b.page, (x, y) => others.every((o) =>
      (y[`${o}:camera`]?.frames ?? 0) > (x[`${o}:camera`]?.frames ?? 0)
      && (y[`${o}:microphone`]?.audioBytes ?? 0) > (x[`${o}:microphone`]?.audioBytes ?? 0)));
    assert.ok(ok, `media not flowing: ${JSON.stringify(await mediaFrom(b.page))}`);
  }

  it('1. three browsers join by link and each decodes the others\' video and receives their audio', async () => {
    id.A = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    id.B = await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
    id.C = await joinByLink(C.page, srv.url, ROOM, 'Carol');
    await assertSeesAndHears(A, [id.B, id.C]);
    await assertSeesAndHears(Bb, [id.A, id.C]);
    await assertSeesAndHears(C, [id.A, id.B]);
    // The tiles show video, not avatars.
    await A.page.waitForSelector(`.tile.has-video[data-participant-id="${id.B}"]`);
    await A.page.waitForSelector(`.tile.has-video[data-participant-id="${id.C}"]`);
    await sleep(500);
    await screenshot(A.page, 'meeting-three');
  });

  it('2. chat reaches the others, and a late joiner sees it in the history', async () => {
    const text = `Hello from Alice ${Date.now()}`;
    await A.page.click('#c-chat');
    await A.page.fill('#chat-input', text);
    await A.page.press('#chat-input', 'Enter');
    for (const b of [Bb, C]) {
      await b.page.waitForFunction((t) => document.getElementById('chat-list')?.textContent?.includes(t), text, { timeout: 10_000 });
      // Unread count on the closed chat panel.
      assert.equal(await b.page.textContent('#unread'), '1');
    }
    await A.page.waitForSelector('#chat-list li.own');
    await Bb.page.evaluate(() => /** @type {any} */ (window).convene.sendChat('Hi Alice!'));
    await A.page.waitForFunction(() => document.getElementById('chat-list')?.textContent?.includes('Hi Alice!'));
    await screenshot(A.page, 'meeting-chat-open');

    // A fourth participant, first on the prejoin screen (screenshot), then in the meeting.
    const D = await openBrowser();
    try {
      await D.page.goto(`${srv.url}/r/${ROOM}`);
      await D.page.waitForSelector('#prejoin:not([hidden])');
      await D.page.fill('#name-input', 'Dave');
      await D.page.waitForFunction(() => {
        const v = /** @type {HTMLVideoElement} */ (document.getElementById('preview-video'));
        return v && v.readyState >= 2 && v.videoWidth > 0;
      });
      await sleep(300);
      await screenshot(D.page, 'prejoin');
      await D.page.click('#pre-cam'); // join with the camera off
      await D.page.click('#join-btn');
      await D.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected');
      const history = await D.page.evaluate(() => document.getElementById('chat-list')?.textContent || '');
      assert.ok(history.includes(text), `history: ${history}`);
      assert.ok(history.includes('Hi Alice!'), `history: ${history}`);
      const idD = await D.page.evaluate(() => /** @type {any} */ (window).convene.participantId);
      await A.page.waitForSelector(`.tile[data-participant-id="${idD}"]:not(.has-video)`);
      await D.page.click('#c-leave');
      await A.page.waitForSelector(`.tile[data-participant-id="${idD}"]`, { state: 'detached', timeout: 10_000 });
    } finally {
      await D.close();
    }
  });

  it('3. a muted microphone shows on the others\' tiles; a raised hand shows in the participant list', async () => {
    await Bb.page.keyboard.press('m');
    // The shortcut updates the button's accessible state.
    await Bb.page.waitForSelector('#c-mic[aria-pressed="false"][aria-label="Unmute microphone (m)"]', { timeout: 5000 });
    for (const b of [A, C]) {
      await b.page.waitForSelector(`.tile[data-participant-id="${id.B}"][data-mic-muted="true"] .mic-state svg`, { timeout: 10_000 });
    }
    await C.page.click('#c-hand');
    await A.page.click('#c-people');
    await A.page.waitForSelector(`#people-list li[data-participant-id="${id.C}"][data-hand="true"] .hand`, { timeout: 10_000 });
    await A.page.waitForSelector(`#people-list li[data-participant-id="${id.B}"][data-mic-muted="true"]`);
    await screenshot(A.page, 'meeting-people');
    await Bb.page.keyboard.press('m');
    await A.page.waitForSelector(`#people-list li[data-participant-id="${id.B}"][data-mic-muted="false"]`);
    await C.page.click('#c-hand');
    await A.page.keyboard.press('Escape'); // closes the side panel
    await A.page.waitForSelector('#side', { state: 'hidden' });
    assert.equal(await A.page.getAttribute('#c-people', 'aria-pressed'), 'false');
  });

  it('4. a screen share appears for the others', async () => {
    await A.page.click('#c-screen');
    const sharing = await A.page.waitForFunction(() => !!(/** @type {any} */ (window).convene.localTracks.screen), null, { timeout: 10_000 })
      .then(() => true, () => false);
    assert.ok(sharing, `getDisplayMedia did not start: ${A.console.slice(-5).join(' | ')}`);
    for (const b of [Bb, C]) {
      await b.page.waitForSelector(`.tile[data-participant-id="${id.A}"][data-source="screen"]`, { timeout: 15_000 });
      const ok = await waitMedia(b.page, (x, y) => (y[`${id.A}:screen`]?.frames ?? 0) > (x[`${id.A}:screen`]?.frames ?? 0));
      assert.ok(ok, `screen not decoded: ${JSON.stringify(await mediaFrom(b.page))}`);
    }
    await sleep(300);
    await screenshot(Bb.page, 'meeting-screen-share');
    await A.page.click('#c-screen');
    for (const b of [Bb, C]) {
      await b.page.waitForSelector(`.tile[data-participant-id="${id.A}"][data-source="screen"]`, { state: 'detached', timeout: 15_000 });
    }
  });

  it('5. a hidden tile stops receiving video and resumes when shown', async () => {
    const key = `${id.C}:camera`;
    const sel = `.tile[data-participant-id="${id.C}"][data-source="camera"]`;
    await A.page.$eval(sel, (el) => { /** @type {HTMLElement} */ (el).style.display = 'none'; });
    await sleep(1500); // constraint goes out, in-flight frames drain
    const a = await mediaFrom(A.page);
    await sleep(3000);
    const b = await mediaFrom(A.page);
    assert.ok(b[key].frames - a[key].frames <= 2, `still decoding while hidden: ${a[key].frames} → ${b[key].frames}`);
    // Other videos keep flowing.
    assert.ok(b[`${id.B}:camera`].frames > a[`${id.B}:camera`].frames);
    await A.page.$eval(sel, (el) => { /** @type {HTMLElement} */ (el).style.display = ''; });
    const ok = await waitMedia(A.page, (x, y) => y[key].frames > x[key].frames + 5);
    assert.ok(ok, 'video did not resume when shown');
  });

  it('6. leaving removes the tile; a reload rejoins as the same participant (one tile, not two)', async () => {
    await C.page.click('#c-leave');
    for (const b of [A, Bb]) {
      await b.page.waitForSelector(`.tile[data-participant-id="${id.C}"]`, { state: 'detached', timeout: 10_000 });
    }
    await C.page.waitForSelector('#ended:not([hidden])');

    await Bb.page.reload();
    await Bb.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 15_000 });
    const again = await Bb.page.evaluate(() => /** @type {any} */ (window).convene.participantId);
    assert.equal(again, id.B, 'the reload came back as another participant');
    await sleep(2000);
    assert.equal(await A.page.locator('.tile[data-source="camera"][data-name="Bob"]').count(), 1);
    assert.equal(await A.page.locator('.tile[data-source="camera"]').count(), 2);
    // Media flows again both ways after the reload.
    const fromB = await waitMedia(A.page, (x, y) => (y[`${id.B}:camera`]?.frames ?? 0) > (x[`${id.B}:camera`]?.frames ?? 0), { timeoutMs: 25_000 });
    assert.ok(fromB, `A does not decode Bob after his reload: ${JSON.stringify(await mediaFrom(A.page))} ${await A.page.evaluate(() => {
      const c = /** @type {any} */ (window).convene;
      const pc = /** @type {RTCPeerConnection} */ (c.peerConnection);
      return JSON.stringify({ sig: pc.signalingState, ice: pc.iceConnectionState, remote: [...c.remoteTracks.values()].map((t) => [t.mid, t.participantId, t.source]),
        tx: pc.getTransceivers().map((t) => [t.mid, t.direction, t.currentDirection]) });
    })}`);
    const toB = await waitMedia(Bb.page, (x, y) => (y[`${id.A}:camera`]?.frames ?? 0) > (x[`${id.A}:camera`]?.frames ?? 0), { timeoutMs: 25_000 });
    assert.ok(toB, `Bob does not decode Alice after his reload: ${JSON.stringify(await mediaFrom(Bb.page))}`);
  });

  it('7. a dropped signaling connection resumes as the same participant; phone-sized layout', async () => {
    await A.page.evaluate(() => /** @type {any} */ (window).convene._signaling.ws.close());
    await A.page.waitForFunction(() => /** @type {any} */ (window).convene.state === 'connected', null, { timeout: 10_000 });
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).convene.participantId), id.A);
    assert.equal(await Bb.page.locator('.tile[data-source="camera"]').count(), 2);
    const ok = await waitMedia(Bb.page, (x, y) => (y[`${id.A}:camera`]?.frames ?? 0) > (x[`${id.A}:camera`]?.frames ?? 0));
    assert.ok(ok, 'media from A stopped after its signaling reconnect');
    await A.page.setViewportSize({ width: 390, height: 760 });
    await sleep(600);
    await screenshot(A.page, 'meeting-phone');
  });
});
