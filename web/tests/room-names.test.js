// End-to-end: room names in every script. Café and CAFÉ are one room, 会议室 and 회의실 two; links are
// percent-encoded and open directly; the home page shows the name it will use when it is not what was typed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, sleep, teardown } from './helpers.js';
import en from '../app/locales/en.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('room names in other scripts', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B[]} */
  let P = [];

  before(async () => {
    srv = await startServer();
    P = await Promise.all([openBrowser(), openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, P));

  /** @param {B} b */
  const shown = (b) => b.page.evaluate(() => ({
    path: location.pathname, title: document.title, header: document.getElementById('m-room')?.textContent,
    room: /** @type {any} */ (window).convene.room, people: /** @type {any} */ (window).convene.participants.size,
  }));

  it('Café = CAFÉ, 会议室 ≠ 회의실, and links opened directly work', async () => {
    await joinByLink(P[0].page, srv.url, encodeURIComponent('Café'), 'Ana', '&cam=0&mic=0');
    await joinByLink(P[1].page, srv.url, encodeURIComponent('CAFÉ'), 'Ben', '&cam=0&mic=0');
    await joinByLink(P[2].page, srv.url, encodeURIComponent('会议室'), 'Chen', '&cam=0&mic=0');
    await joinByLink(P[3].page, srv.url, '%ED%9A%8C%EC%9D%98%EC%8B%A4', 'Dana', '&cam=0&mic=0'); // 회의실
    await P[0].page.waitForSelector('.tile[data-name="Ben"]', { timeout: 10_000 });
    await P[1].page.waitForSelector('.tile[data-name="Ana"]', { timeout: 10_000 });
    await sleep(1500); // a wrongly shared room would have shown its other member by now
    const cafe = { path: '/r/caf%C3%A9', title: 'café · Convene', header: 'café', room: 'café', people: 2 };
    assert.deepEqual(await shown(P[0]), cafe);
    assert.deepEqual(await shown(P[1]), cafe);
    assert.deepEqual(await shown(P[2]), { path: '/r/%E4%BC%9A%E8%AE%AE%E5%AE%A4', title: '会议室 · Convene', header: '会议室', room: '会议室', people: 1 });
    assert.deepEqual(await shown(P[3]), { path: '/r/%ED%9A%8C%EC%9D%98%EC%8B%A4', title: '회의실 · Convene', header: '회의실', room: '회의실', people: 1 });
    // The invite link is the percent-encoded one, which every client opens.
    await P[2].page.click('#copy-link');
    assert.equal(await P[2].page.evaluate(() => navigator.clipboard.readText()), `${srv.url}/r/%E4%BC%9A%E8%AE%AE%E5%AE%A4`);
    await P[2].page.waitForSelector('#toast:not([hidden])');
    assert.equal(await P[2].page.textContent('#toast'), `Invite link copied: ${srv.url}/r/会议室`);
  });

  it('the home page says which room a typed name becomes, and the link uses it', async () => {
    const page = P[3].page;
    await page.goto(`${srv.url}/`);
    await page.fill('#room-input', 'Ünïcode room!!');
    await page.waitForSelector('#room-notice:not([hidden])');
    assert.equal(await page.textContent('#room-notice'), 'You\'ll join «ünïcode-room» (“!” cannot be part of a meeting name).');
    await page.fill('#room-input', '会议室');
    assert.ok(await page.isHidden('#room-notice'), 'a notice for a name used as typed');
    await page.fill('#room-input', 'Ünïcode room!!');
    await page.press('#room-input', 'Enter');
    await page.waitForSelector('#prejoin:not([hidden])');
    assert.equal(new URL(page.url()).pathname, '/r/%C3%BCn%C3%AFcode-room');
    assert.equal(await page.textContent('#pre-room'), 'ünïcode-room');
  });

  it('a link whose name loses characters shows the name instead of joining by itself', async () => {
    const page = P[3].page;
    await page.goto(`${srv.url}/r/Caf%C3%A9%20Bar!!?name=Eve&autojoin=1`);
    await page.waitForSelector('#prejoin:not([hidden])');
    assert.equal(await page.textContent('#pre-notice'), 'You\'ll join «café-bar» (“!” cannot be part of a meeting name).');
    assert.equal(new URL(page.url()).pathname, '/r/caf%C3%A9-bar');
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).convene), undefined, 'it joined');
  });

  it('a name the server refuses (Latin mixed with Cyrillic) comes back to the home page with the reason', async () => {
    const page = P[3].page;
    await page.goto(`${srv.url}/r/p%D0%B0ypal?name=Eve&autojoin=1`); // a Cyrillic а
    await page.waitForSelector('#home-error:not([hidden])', { timeout: 10_000 });
    // By the code (invalid_room_name), in the page's language; the server's English message is not shown.
    assert.equal(await page.textContent('#home-error'), en['error.invalid_room_name']);
    assert.match(en['error.invalid_room_name'], /one script/);
    assert.ok(await page.isHidden('#ended'));
  });
});
