// End-to-end: a room at its participant limit refuses a third browser with a clear message, and the
// others never see a tile for it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, screenshot, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-full';

describe('a room limited to two participants', { timeout: 90_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>[]} */
  let browsers = [];

  before(async () => {
    srv = await startServer([], { args: ['--max-participants', '2'] });
    browsers = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, browsers));

  it('9. a third browser sees "This meeting is full" and no tile of it appears for the two inside', async () => {
    const [A, B, C] = browsers;
    await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await joinByLink(B.page, srv.url, ROOM, 'Bob');
    await A.page.waitForSelector('.tile[data-source="camera"][data-name="Bob"]');

    await C.page.goto(`${srv.url}/r/${ROOM}?name=Carol&autojoin=1`);
    await C.page.waitForSelector('#ended:not([hidden])', { timeout: 15_000 });
    assert.equal((await C.page.textContent('#ended-title'))?.trim(), 'This meeting is full');
    assert.match(await C.page.textContent('#ended-text') || '', /participant limit/);
    assert.ok(await C.page.isVisible('#ended-title'), 'the message is not visible');
    assert.ok(await C.page.isHidden('#meeting'), 'the meeting screen is still shown');
    assert.equal(await C.page.evaluate(() => /** @type {any} */ (window).convene.state), 'disconnected');
    await screenshot(C.page, 'room-full');

    await sleep(1500); // a wrongly admitted participant would have shown up by now
    for (const b of [A, B]) {
      assert.equal(await b.page.locator('.tile[data-source="camera"]').count(), 2);
      assert.equal(await b.page.locator('.tile[data-name="Carol"]').count(), 0);
      assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).convene.participants.size), 2);
      assert.equal((await b.page.textContent('#m-count'))?.trim(), '2 people');
    }
  });
});
