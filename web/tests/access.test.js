// End-to-end: who may enter, as a person meets it. An account plans a meeting with a password; a guest
// opening the link is asked for the password in the form, a wrong one is explained, the right one lets
// them in. A guest at a members-only meeting gets a screen saying what to do.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, teardown } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('meetings with rules', { timeout: 90_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let owner;
  /** @type {B} */ let guest;

  before(async () => {
    srv = await startServer();
    owner = await openBrowser();
    guest = await openBrowser();
    // The owner signs up and plans two meetings from a page of the server (its cookie, its origin).
    await owner.page.goto(srv.url);
    const made = await owner.page.evaluate(async () => {
      const post = (/** @type {string} */ path, /** @type {unknown} */ body) => fetch(path, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      }).then((r) => r.status);
      return [
        await post('/api/v1/auth/signup', { email: 'owner@example.org', password: 'a long password', display_name: 'Owner' }),
        await post('/api/v1/rooms', { unique_name: 'locked', title: 'Board', password: 'open sesame' }),
        await post('/api/v1/rooms', { unique_name: 'members', access: 'accounts' }),
      ];
    });
    assert.deepEqual(made, [201, 201, 201]);
  });

  after(() => teardown(srv, [owner, guest]));

  it('asks a guest for the password, explains a wrong one, and lets the right one in', async () => {
    const p = guest.page;
    await p.goto(`${srv.url}/r/locked?name=Guest&autojoin=1&cam=0&mic=0`);
    await p.waitForSelector('#pw-row:not([hidden])', { timeout: 20_000 });
    assert.match(await p.textContent('#pw-error') || '', /has a password/);
    await p.fill('#pw-input', 'wrong guess');
    await p.click('#join-btn');
    await p.waitForFunction(() => /not right/.test(document.getElementById('pw-error')?.textContent || ''), null, { timeout: 20_000 });
    await p.fill('#pw-input', 'open sesame');
    await p.click('#join-btn');
    await p.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    assert.equal(await p.evaluate(() => /** @type {any} */ (window).convene.me?.display_name), 'Guest');
  });

  it('tells a guest at a members-only meeting to sign in', async () => {
    const p = guest.page;
    await p.goto(`${srv.url}/r/members?name=Guest&autojoin=1&cam=0&mic=0`);
    await p.waitForSelector('#ended:not([hidden])', { timeout: 20_000 });
    assert.match(await p.textContent('#ended-title') || '', /for members/);
    assert.match(await p.textContent('#ended-text') || '', /Sign in/);
  });
});
