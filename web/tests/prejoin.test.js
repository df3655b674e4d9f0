// End-to-end: the prejoin form works from its first paint (a Join clicked while the camera/microphone
// prompt is still open joins once, with the typed name, without reloading the page) and explains a display
// name it cannot use instead of doing nothing or ending on an error screen.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, teardown } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

/** getUserMedia answers 2 s late (a permission prompt left open); every `join` the page sends is recorded. */
const SLOW_DEVICES = () => {
  const w = /** @type {any} */ (window);
  w.__gumResolved = 0;
  w.__joins = [];
  const md = navigator.mediaDevices;
  const orig = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    await new Promise((r) => setTimeout(r, 2000));
    const s = await orig(c);
    w.__gumResolved++;
    return s;
  };
  const send = WebSocket.prototype.send;
  /** @param {string | ArrayBufferLike | Blob | ArrayBufferView} data */
  WebSocket.prototype.send = function (data) {
    try { const m = JSON.parse(String(data)); if (m.type === 'join') w.__joins.push(m); } catch { /* not JSON */ }
    return send.call(this, data);
  };
};

describe('the prejoin form', { timeout: 90_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;

  before(async () => {
    srv = await startServer();
    A = await openBrowser();
    await A.page.addInitScript(SLOW_DEVICES);
  });

  after(() => teardown(srv, [A]));

  it('Join clicked while the devices are still opening joins once, with the typed name, without a reload', async () => {
    let navigations = 0;
    A.page.on('framenavigated', (f) => { if (f === A.page.mainFrame()) navigations++; });
    await A.page.goto(`${srv.url}/r/slow-devices`);
    await A.page.waitForSelector('#prejoin:not([hidden])');
    navigations = 0;
    await A.page.evaluate(() => { /** @type {any} */ (window).__marker = 'same page'; });
    await A.page.fill('#name-input', 'Zoë Early');
    await A.page.click('#join-btn');
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).__gumResolved), 0, 'the devices opened before the click: the test proves nothing');
    // An impatient second try (the button is disabled by now, so submit the form directly): still one join.
    assert.ok(await A.page.isDisabled('#join-btn'), 'the Join button stays enabled while joining');
    await A.page.evaluate(() => /** @type {HTMLFormElement} */ (document.getElementById('prejoin-form')).requestSubmit());
    await A.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    const r = await A.page.evaluate(() => {
      const w = /** @type {any} */ (window);
      return { marker: w.__marker, joins: w.__joins.map((/** @type {any} */ j) => j.display_name), me: w.convene.me?.display_name, path: location.pathname };
    });
    assert.equal(r.marker, 'same page', 'the page was reloaded');
    assert.equal(navigations, 0, 'the page navigated');
    assert.deepEqual(r.joins, ['Zoë Early'], 'not exactly one join with the typed name');
    assert.equal(r.me, 'Zoë Early');
    assert.equal(r.path, '/r/slow-devices');
    // The join used the tracks the preview opened: the camera is live and published.
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).convene.localTracks.camera?.readyState), 'live');
    await A.page.click('#c-leave');
    await A.page.waitForSelector('#ended:not([hidden])');
  });

  it('a blank name gets a message in the form, and nothing joins', async () => {
    await A.page.goto(`${srv.url}/r/names?name=%20%20`);
    await A.page.waitForSelector('#prejoin:not([hidden])');
    await A.page.fill('#name-input', '   ');
    await A.page.click('#join-btn');
    await A.page.waitForSelector('#name-error:not([hidden])', { timeout: 5000 });
    assert.equal((await A.page.textContent('#name-error'))?.trim(), 'Enter your name.');
    assert.ok(await A.page.isVisible('#prejoin'));
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).__joins.length), 0);
  });

  it('a 500-character name from the link stays in the form with its length and the limit, then a good one joins', async () => {
    await A.page.goto(`${srv.url}/r/names?name=${'n'.repeat(500)}&autojoin=1`);
    await A.page.waitForSelector('#prejoin:not([hidden])');
    await A.page.waitForSelector('#name-error:not([hidden])');
    assert.equal((await A.page.textContent('#name-error'))?.trim(), 'Your name has 500 characters; the limit is 64.');
    assert.ok(await A.page.isHidden('#ended'), 'an end screen instead of the form');
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).__joins.length), 0);
    // 64 characters (of an astral script: 128 UTF-16 units) is within the limit.
    const name = '𝓐'.repeat(64);
    await A.page.fill('#name-input', name);
    assert.ok(await A.page.isHidden('#name-error'), 'the message stays after the name was corrected');
    await A.page.click('#join-btn');
    await A.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).convene.me?.display_name), name);
    await A.page.click('#c-leave');
    await A.page.waitForSelector('#ended:not([hidden])');
  });

  it('a name of invisible characters only is explained, not sent', async () => {
    await A.page.goto(`${srv.url}/r/names?name=%E2%80%8B%E2%81%A0%E2%80%8B&autojoin=1`);
    await A.page.waitForSelector('#name-error:not([hidden])');
    assert.equal((await A.page.textContent('#name-error'))?.trim(), 'Your name needs at least one visible character.');
    assert.equal(await A.page.evaluate(() => /** @type {any} */ (window).__joins.length), 0);
  });
});
