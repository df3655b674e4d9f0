// End-to-end: a server restart (a drain with SIGTERM, then a crash with SIGKILL) does not strand anyone:
// both pages say what is happening, come back to the meeting by themselves as the same participants, with
// their mic state and the chat, decode each other's video again, and never show the other leave and join.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, until, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-restart';

/**
 * Records what the page showed: toasts, banner texts, end screens, WebSocket connections made, and the
 * SDK's participant events (hooked once the app created its client).
 */
const RECORD = () => {
  const w = /** @type {any} */ (window);
  w.__ui = { toasts: [], banners: [], ended: 0, events: [] };
  w.__wsCount = 0;
  const WS = window.WebSocket;
  // `__drainingReplies = n`: the next n joins are answered `server_draining`, as the old process answers
  // while it drains (on this machine it drains too fast for a browser to meet it).
  // Also from sessionStorage (`test:draining`), for the first joins of a reloaded page.
  w.__drainingReplies = Number(sessionStorage.getItem('test:draining') || 0);
  sessionStorage.removeItem('test:draining');
  class Counted extends WS {
    /** @param {string | URL} u @param {string | string[]} [p] */
    constructor(u, p) { super(u, p); w.__wsCount++; }
    /** @param {string | ArrayBufferLike | Blob | ArrayBufferView} data */
    send(data) {
      if (w.__drainingReplies > 0 && String(data).includes('"type":"join"')) {
        w.__drainingReplies--;
        const refusal = JSON.stringify({ type: 'error', code: 'server_draining', message: 'the server is shutting down', request: 'join' });
        setTimeout(() => this.dispatchEvent(new MessageEvent('message', { data: refusal })), 0);
        return;
      }
      super.send(data);
    }
  }
  window.WebSocket = Counted;
  addEventListener('DOMContentLoaded', () => {
    /** @param {string} id @param {(el: HTMLElement) => void} fn */
    const watch = (id, fn) => {
      const el = /** @type {HTMLElement} */ (document.getElementById(id));
      new MutationObserver(() => fn(el)).observe(el, { attributes: true, childList: true, subtree: true, characterData: true });
    };
    watch('toast', (t) => { if (!t.hidden && w.__ui.toasts.at(-1) !== t.textContent) w.__ui.toasts.push(t.textContent); });
    watch('banner', (b) => { const t = b.hidden ? '' : document.getElementById('banner-text')?.textContent?.trim(); if (t && w.__ui.banners.at(-1) !== t) w.__ui.banners.push(t); });
    watch('ended', (e) => { if (!e.hidden) w.__ui.ended++; });
  });
  const hook = setInterval(() => {
    if (!w.convene) return;
    clearInterval(hook);
    for (const type of ['participantjoined', 'participantleft']) {
      w.convene.addEventListener(type, (/** @type {CustomEvent} */ e) => w.__ui.events.push(`${type} ${e.detail.participant.display_name}`));
    }
  }, 20);
};

/** Page A's jitter always draws the top of the range: its waits are 250 ms, 500 ms, 1 s, 2 s, 4 s, 8 s, ... */
const NO_JITTER = () => { Math.random = () => 0.999999; };

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('a server restart with two people in a meeting', { timeout: 300_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  /** @type {Record<string, string>} */
  const id = {};

  before(async () => {
    srv = await startServer();
    [A, Bb] = await Promise.all([openBrowser(), openBrowser()]);
    for (const b of [A, Bb]) await b.page.addInitScript(RECORD);
    // A's backoff may grow to 60 s (its waits are then long enough to see "Try now" cut one short).
    await A.page.addInitScript(NO_JITTER);
    id.A = await joinByLink(A.page, srv.url, ROOM, 'Alice', '&retrymax=60000');
    id.B = await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
  });

  after(() => teardown(srv, [A, Bb]));

  /** @param {B} b @param {string} other */
  async function decodes(b, other) {
    const ok = await waitMedia(b.page, (x, y) => (y[`${other}:camera`]?.frames ?? 0) > (x[`${other}:camera`]?.frames ?? 0) + 3, { timeoutMs: 30_000 });
    assert.ok(ok, `no video from ${other}: ${JSON.stringify(await mediaFrom(b.page))}`);
  }

  /** @param {B} b */
  const ui = (b) => b.page.evaluate(() => /** @type {any} */ (window).__ui);
  /** @param {B} b */
  const state = (b) => b.page.evaluate(() => /** @type {any} */ (window).convene.state);
  /** @param {B} b */
  const resetUi = (b) => b.page.evaluate(() => { const u = /** @type {any} */ (window).__ui; u.toasts = []; u.banners = []; u.events = []; });
  /** @param {B} b @param {number} ms */
  const connected = (b, ms) => b.page.waitForFunction(() => /** @type {any} */ (window).convene.state === 'connected', null, { timeout: ms });

  /**
   * After the restart: the same participants, media both ways, mic state and chat kept, nobody left or joined.
   * @param {string} chat a message sent before the restart
   */
  async function assertBackTogether(chat) {
    for (const [b, me, other] of /** @type {[B, string, string][]} */ ([[A, id.A, id.B], [Bb, id.B, id.A]])) {
      assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).convene.participantId), me, 'came back as another participant');
      await decodes(b, other);
      const u = await ui(b);
      assert.deepEqual(u.events, [], 'the SDK reported the other leaving or joining');
      assert.deepEqual(u.toasts.filter((/** @type {string} */ t) => / (left|joined)$/.test(t)), [], `toasts: ${u.toasts}`);
      assert.equal(u.ended, 0, 'an end screen was shown');
      assert.ok(await b.page.isHidden('#banner'), 'the banner stayed');
      assert.equal(await b.page.locator('.tile[data-source="camera"]').count(), 2);
      const seqs = await b.page.evaluate(() => /** @type {any} */ (window).convene.chat.map((/** @type {any} */ m) => m.seq));
      assert.equal(new Set(seqs).size, seqs.length, `duplicate chat messages: ${seqs}`);
      const shown = await b.page.$$eval('#chat-list li .text', (els) => els.map((e) => e.textContent));
      assert.equal(shown.filter((t) => t === chat).length, 1, `chat after the restart: ${JSON.stringify(shown)}`);
    }
    // Bob's muted microphone is still muted, for him and for Alice.
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).convene.me?.mic_muted), true);
    await A.page.waitForSelector(`.tile[data-participant-id="${id.B}"][data-mic-muted="true"]`, { timeout: 5000 });
  }

  it('SIGTERM: both pages say the server is restarting, then return to the meeting by themselves', async () => {
    await decodes(A, id.B);
    await decodes(Bb, id.A);
    await Bb.page.click('#c-mic');
    await A.page.waitForSelector(`.tile[data-participant-id="${id.B}"][data-mic-muted="true"]`);
    const chat = `before the drain ${Date.now()}`;
    await A.page.evaluate((t) => /** @type {any} */ (window).convene.sendChat(t), chat);
    await Bb.page.waitForFunction((t) => document.getElementById('chat-list')?.textContent?.includes(t), chat);
    await Promise.all([resetUi(A), resetUi(Bb)]);

    await Bb.page.evaluate(() => { /** @type {any} */ (window).__drainingReplies = 2; });
    assert.ok(await srv.kill('SIGTERM'), 'the server did not stop on SIGTERM');
    for (const b of [A, Bb]) {
      await b.page.waitForSelector('#banner:not([hidden])', { timeout: 5000 });
      assert.equal((await b.page.textContent('#banner-text'))?.trim(), 'The server is restarting — you\'ll be back in a moment');
      assert.ok(await b.page.isVisible('#banner-retry') && await b.page.isVisible('#banner-leave'), 'no "Try now" / "Leave"');
      assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).convene.reconnectReason), 'server_restarting');
    }
    await srv.restart();
    await Promise.all([connected(A, 30_000), connected(Bb, 30_000)]);
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).__drainingReplies), 0, 'Bob met no draining server');
    await assertBackTogether(chat);
    for (const b of [A, Bb]) {
      assert.deepEqual((await ui(b)).banners, ['The server is restarting — you\'ll be back in a moment'], 'another banner showed');
    }
  });

  it('SIGKILL: both pages say the connection was lost, then return to the meeting by themselves', async () => {
    await Promise.all([resetUi(A), resetUi(Bb)]);
    const chat = `before the crash ${Date.now()}`;
    await Bb.page.evaluate((t) => /** @type {any} */ (window).convene.sendChat(t), chat);
    await A.page.waitForFunction((t) => document.getElementById('chat-list')?.textContent?.includes(t), chat);

    assert.ok(await srv.kill('SIGKILL'), 'the server did not die on SIGKILL');
    for (const b of [A, Bb]) {
      await b.page.waitForSelector('#banner:not([hidden])', { timeout: 5000 });
      assert.equal((await b.page.textContent('#banner-text'))?.trim(), 'Connection lost — reconnecting…');
      assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).convene.reconnectReason), 'connection_lost');
    }
    await srv.restart();
    await Promise.all([connected(A, 30_000), connected(Bb, 30_000)]);
    await assertBackTogether(chat);
    for (const b of [A, Bb]) {
      assert.deepEqual((await ui(b)).banners, ['Connection lost — reconnecting…'], 'another banner showed');
    }
  });

  it('"Try now" retries at once instead of waiting out the backoff', async () => {
    await Promise.all([resetUi(A), resetUi(Bb)]);
    const sockets = await A.page.evaluate(() => /** @type {any} */ (window).__wsCount);
    assert.ok(await srv.kill('SIGKILL'), 'the server did not die on SIGKILL');
    // Alice (no jitter) has tried 5 times after 0.25 + 0.5 + 1 + 2 + 4 s and now waits 8 s.
    const tried = await until(() => A.page.evaluate((n) => /** @type {any} */ (window).__wsCount >= n + 5, sockets), 15_000, 100);
    assert.ok(tried, 'Alice stopped retrying');
    await srv.restart(); // a second or two, well within Alice's 8 s wait
    assert.equal(await state(A), 'reconnecting', 'Alice came back before "Try now": nothing to test');
    const clicked = Date.now();
    await A.page.click('#banner-retry');
    await connected(A, 3000);
    assert.ok(Date.now() - clicked < 3000);
    await connected(Bb, 30_000); // Bob (jittered, at most 5 s apart) comes back by himself
    await decodes(Bb, id.A);
    await decodes(A, id.B);
    await sleep(100);
  });

  it('a page reloaded while the server drains waits for it and comes back as the same participant', async () => {
    await Promise.all([resetUi(A), resetUi(Bb)]);
    // The reloaded page's first two joins meet a draining server (the page itself still loads).
    await Bb.page.evaluate(() => sessionStorage.setItem('test:draining', '2'));
    await Bb.page.reload();
    await Bb.page.waitForSelector('#banner:not([hidden])', { timeout: 10_000 });
    assert.equal((await Bb.page.textContent('#banner-text'))?.trim(), 'The server is restarting — you\'ll be back in a moment');
    await connected(Bb, 30_000);
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).__drainingReplies), 0, 'Bob met no draining server');
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).convene.participantId), id.B);
    assert.equal((await ui(Bb)).ended, 0, 'an end screen while the server restarted');
    await decodes(A, id.B);
    await decodes(Bb, id.A);
    assert.deepEqual((await ui(A)).events, [], 'Alice saw Bob leave or join');
  });

  it('"Leave" while reconnecting leaves: the end screen, without the banner on top', async () => {
    assert.ok(await srv.kill('SIGKILL'));
    await A.page.waitForSelector('#banner-leave:visible', { timeout: 5000 });
    await A.page.click('#banner-leave');
    await A.page.waitForSelector('#ended:not([hidden])', { timeout: 5000 });
    assert.equal((await A.page.textContent('#ended-title'))?.trim(), 'You left the meeting');
    assert.ok(await A.page.isHidden('#banner'), 'the banner stays over the end screen');
    await sleep(1500);
    assert.equal(await state(A), 'disconnected', 'it went on reconnecting after Leave');
    await srv.restart();
    await connected(Bb, 30_000);
  });

  it('when the window passes, the page ends with a clear message and "Rejoin" (and no banner)', async () => {
    // A 3 s window instead of the server's 5 minutes (a test hook of the app).
    await Bb.page.goto(`${srv.url}/r/${ROOM}?name=Bob&autojoin=1&retrywindow=3000`);
    await connected(Bb, 15_000);
    assert.ok(await srv.kill('SIGKILL'));
    await Bb.page.waitForSelector('#banner:not([hidden])', { timeout: 5000 });
    await Bb.page.waitForSelector('#ended:not([hidden])', { timeout: 10_000 });
    assert.equal((await Bb.page.textContent('#ended-title'))?.trim(), 'Connection lost');
    assert.equal((await Bb.page.textContent('#ended-text'))?.trim(), 'Could not reconnect to the server for 3 seconds.');
    assert.ok(await Bb.page.isHidden('#banner'), 'the banner stays over the end screen');
    assert.ok(await Bb.page.isVisible('#rejoin'));
  });
});
