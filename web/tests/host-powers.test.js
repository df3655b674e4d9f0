// End-to-end: a host's powers in an ad-hoc meeting of three (the first to come hosts it). The host mutes a
// participant's microphone from its tile's menu, by keyboard: the third page stops receiving its audio; the
// muted page cannot unmute (nothing is sent) until it asks and the host allows, then its audio flows again.
// The host locks the meeting (a newcomer is refused) and mutes everyone; removes the third, who cannot come
// back by reloading; and ends the meeting for all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, teardown, screenshot } from './helpers.js';

const ROOM = 'e2e-host-powers';

/** Records every message the page sends on its signaling socket (`window.__sent`). */
const RECORD_SENT = () => {
  const w = /** @type {any} */ (window);
  w.__sent = [];
  const send = WebSocket.prototype.send;
  /** @param {string | ArrayBufferLike | Blob | ArrayBufferView} data */
  WebSocket.prototype.send = function (data) {
    try { w.__sent.push(JSON.parse(String(data))); } catch { /* not JSON */ }
    return send.call(this, data);
  };
};

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('a host\'s powers', { timeout: 300_000 }, () => {
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
    for (const b of [A, Bb, C]) await b.page.addInitScript(RECORD_SENT);
    // Cameras off: this file is about sound and screens, and three encoders would only slow the machine.
    id.A = await joinByLink(A.page, srv.url, ROOM, 'Alice', '&cam=0');
    id.B = await joinByLink(Bb.page, srv.url, ROOM, 'Bob', '&cam=0');
    id.C = await joinByLink(C.page, srv.url, ROOM, 'Carol', '&cam=0');
  });

  after(() => teardown(srv, [A, Bb, C]));

  /** Bob's microphone as Carol receives it. */
  const bobOnCarol = () => `${id.B}:microphone`;

  /** @param {boolean} flowing */
  async function bobHeardByCarol(flowing) {
    const key = bobOnCarol();
    const ok = await waitMedia(C.page, (x, y) => {
      const grew = (y[key]?.audioBytes ?? 0) - (x[key]?.audioBytes ?? 0);
      return flowing ? grew > 1000 : y[key] !== undefined && grew === 0;
    }, { gapMs: 1500, timeoutMs: 20_000 });
    assert.ok(ok, `Bob's audio on Carol's page should be ${flowing ? 'flowing' : 'stopped'}: ${JSON.stringify((await mediaFrom(C.page))[key])}`);
  }

  /** @param {B} b @param {RegExp} re */
  const toastSays = (b, re) => b.page.waitForFunction((src) => new RegExp(src).test(document.getElementById('toast')?.textContent || ''), re.source, { timeout: 10_000 });

  it('1. the host mutes Bob\'s microphone from his tile\'s menu, by keyboard; Carol stops receiving it', async () => {
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'host');
    await bobHeardByCarol(true);
    // A participant gets no host menu at all.
    assert.equal(await C.page.locator('.person-menu-btn').count(), 0);
    assert.ok(await C.page.isHidden('#c-host'));

    const button = `.tile[data-participant-id="${id.B}"] .person-menu-btn`;
    assert.equal(await A.page.getAttribute(button, 'aria-label'), 'Actions for Bob');
    await A.page.focus(button);
    await A.page.keyboard.press('Enter');
    await A.page.waitForSelector('#person-menu:not([hidden])');
    assert.equal(await A.page.getAttribute('#person-menu', 'aria-label'), 'Actions for Bob');
    assert.equal(await A.page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.action), 'mute-microphone');
    await A.page.keyboard.press('Enter');

    await Bb.page.waitForSelector('#mod-notice:not([hidden])', { timeout: 10_000 });
    assert.equal((await Bb.page.textContent('#mod-text'))?.trim(), 'Alice muted your microphone.');
    assert.ok(await Bb.page.evaluate(() => document.getElementById('c-mic')?.classList.contains('host-muted')));
    assert.equal(await Bb.page.getAttribute('#c-mic', 'aria-label'), 'Microphone muted by a host');
    const local = await Bb.page.evaluate(() => { const c = /** @type {any} */ (window).convene; return { enabled: c.localTracks.microphone?.enabled, muted: c.muted.mic, held: c.me.host_muted }; });
    assert.deepEqual(local, { enabled: false, muted: true, held: ['microphone'] });
    await bobHeardByCarol(false);
    await screenshot(Bb.page, 'host-muted');
  });

  it('2. Bob cannot unmute (nothing is sent) until he asks and the host allows; then Carol hears him again', async () => {
    await Bb.page.evaluate(() => { /** @type {any} */ (window).__sent.length = 0; });
    await Bb.page.click('#c-mic');
    await toastSays(Bb, /A host muted your microphone\. Ask to unmute/);
    const refused = await Bb.page.evaluate(() => /** @type {any} */ (window).convene.setMicEnabled(true).then(() => 'unmuted', (/** @type {any} */ e) => e.code));
    assert.equal(refused, 'muted_by_host');
    const sent = await Bb.page.evaluate(() => /** @type {any} */ (window).__sent.map((/** @type {any} */ m) => m.type));
    assert.ok(!sent.includes('set_muted'), `sent: ${sent}`);
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).convene.muted.mic), true);

    await Bb.page.click('#mod-ask');
    await Bb.page.waitForFunction(() => /You asked to unmute/.test(document.getElementById('mod-text')?.textContent || ''));
    assert.ok(await Bb.page.isHidden('#mod-ask'));
    await toastSays(A, /Bob asks to unmute/);
    await A.page.click('#c-people');
    const row = `#people-list li[data-participant-id="${id.B}"]`;
    await A.page.waitForSelector(`${row} .asks`);
    // Carol, a participant, does not see who asks.
    await C.page.click('#c-people');
    assert.equal(await C.page.locator('#people-list .asks').count(), 0);

    await A.page.click(`${row} .person-menu-btn`);
    await A.page.click('#person-menu [data-action="allow-microphone"]');
    await toastSays(Bb, /You may unmute now/);
    await Bb.page.waitForSelector('#mod-notice', { state: 'hidden' });
    await Bb.page.click('#c-mic');
    await Bb.page.waitForFunction(() => /** @type {any} */ (window).convene.muted.mic === false);
    assert.ok(!(await Bb.page.evaluate(() => document.getElementById('c-mic')?.classList.contains('host-muted'))));
    await bobHeardByCarol(true);
  });

  it('3. a locked meeting refuses a newcomer; "Mute everyone" mutes all but the host', async () => {
    await A.page.click('#c-host');
    await A.page.click('#host-menu [data-action="lock"]');
    for (const b of [A, Bb, C]) await b.page.waitForSelector('#m-locked:not([hidden])', { timeout: 10_000 });
    const D = await openBrowser();
    try {
      await D.page.goto(`${srv.url}/r/${ROOM}?name=Dave&autojoin=1&cam=0&mic=0`);
      await D.page.waitForSelector('#ended:not([hidden])', { timeout: 20_000 });
      assert.equal(await D.page.textContent('#ended-title'), 'This meeting is locked');
      assert.match(await D.page.textContent('#ended-text') || '', /Ask them to unlock it/);
    } finally {
      await D.close();
    }
    await A.page.click('#c-host');
    assert.equal(await A.page.textContent('#host-menu [data-action="lock"]'), 'Unlock meeting');
    await A.page.click('#host-menu [data-action="mute-all"]');
    for (const b of [Bb, C]) await b.page.waitForSelector('#mod-notice:not([hidden])', { timeout: 10_000 });
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).convene.me.host_muted.length), 0);
  });

  it('4. a removed participant sees the removed screen, and a reload cannot bring them back', async () => {
    await A.page.click(`#people-list li[data-participant-id="${id.C}"] .person-menu-btn`);
    await A.page.click('#person-menu [data-action="remove"]');
    await A.page.waitForSelector('#confirm[open]');
    assert.equal(await A.page.textContent('#confirm-title'), 'Remove Carol?');
    await A.page.click('#confirm-ok');
    await C.page.waitForSelector('#ended:not([hidden])', { timeout: 10_000 });
    assert.equal(await C.page.textContent('#ended-title'), 'You were removed from the meeting');
    assert.ok(await C.page.isHidden('#rejoin'), 'a removed person is offered to rejoin');
    await A.page.waitForFunction((cid) => !/** @type {any} */ (window).convene.participants.has(cid), id.C);
    await Bb.page.waitForFunction((cid) => !/** @type {any} */ (window).convene.participants.has(cid), id.C);

    // The reload comes back with the tab's resume token: refused with `removed`.
    await C.page.reload();
    await C.page.waitForSelector('#ended:not([hidden])', { timeout: 20_000 });
    assert.equal(await C.page.textContent('#ended-title'), 'You were removed from the meeting');
    const joins = await C.page.evaluate(() => /** @type {any} */ (window).__sent.filter((/** @type {any} */ m) => m.type === 'join').map((/** @type {any} */ m) => !!m.resume_token));
    assert.deepEqual(joins, [true]);
    assert.ok(!(await A.page.evaluate((cid) => /** @type {any} */ (window).convene.participants.has(cid), id.C)));
  });

  it('5. ending the meeting for all shows every page the meeting-ended screen', async () => {
    await A.page.click('#c-host');
    await A.page.click('#host-menu [data-action="end"]');
    await A.page.waitForSelector('#confirm[open]');
    await A.page.click('#confirm-ok');
    for (const b of [A, Bb]) {
      await b.page.waitForSelector('#ended:not([hidden])', { timeout: 10_000 });
      assert.equal(await b.page.textContent('#ended-title'), 'The meeting has ended');
      assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).convene.state), 'disconnected');
    }
  });
});
