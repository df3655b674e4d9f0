// End-to-end: changing one's password in the app. A wrong current password and a too-short new one are
// shown by their fields; after the change this browser stays signed in, another browser of the same
// account is signed out, and the new password is the one that signs in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, teardown, screenshot } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {import('playwright-core').Page} Page */

const visible = (/** @type {Page} */ p, /** @type {string} */ id) => p.waitForSelector(`#${id}:not([hidden])`, { timeout: 15_000 });
const EMAIL = 'pat@example.org';

/** Signs in on the sign-in form. @param {Page} p @param {string} url @param {string} password */
async function signIn(p, url, password) {
  await p.goto(`${url}/?auth=signin`);
  await visible(p, 'auth');
  await p.fill('#f-email', EMAIL);
  await p.fill('#f-password', password);
  await p.click('#auth-submit');
}

describe('changing the password in the app', { timeout: 90_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let here;
  /** @type {B} */ let elsewhere;

  before(async () => {
    srv = await startServer();
    [here, elsewhere] = await Promise.all([openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [here, elsewhere]));

  it('refuses by field, keeps this browser signed in and signs out the others', async () => {
    const p = here.page;
    await p.goto(`${srv.url}/?auth=signup`);
    await visible(p, 'auth');
    await p.fill('#f-name', 'Pat');
    await p.fill('#f-email', EMAIL);
    await p.fill('#f-password', 'the first password');
    await p.click('#auth-submit');
    await visible(p, 'acct-in');
    await signIn(elsewhere.page, srv.url, 'the first password');
    await visible(elsewhere.page, 'acct-in');

    await p.click('#go-passwd');
    await visible(p, 'passwd');
    await p.fill('#cp-current', 'not the password');
    await p.fill('#cp-new', 'the second password');
    await p.click('#passwd-submit');
    await visible(p, 'cp-current-error');
    assert.match(await p.textContent('#cp-current-error') || '', /wrong/i);

    await p.fill('#cp-current', 'the first password');
    await p.fill('#cp-new', 'short');
    await p.click('#passwd-submit');
    await visible(p, 'cp-new-error');
    assert.ok(await p.isHidden('#cp-current-error'), 'the earlier refusal is gone');

    await p.fill('#cp-new', 'the second password');
    await p.click('#passwd-submit');
    await visible(p, 'passwd-done');
    await screenshot(p, 'password-changed');

    await p.goto(srv.url);
    await visible(p, 'acct-in');
    await elsewhere.page.goto(srv.url);
    await visible(elsewhere.page, 'acct-out');

    await signIn(elsewhere.page, srv.url, 'the first password');
    await visible(elsewhere.page, 'f-password-error');
    await signIn(elsewhere.page, srv.url, 'the second password');
    await visible(elsewhere.page, 'acct-in');
  });

  it('sends a visitor who is not signed in to the sign-in form', async () => {
    const b = await openBrowser();
    try {
      await b.page.goto(`${srv.url}/?view=password`);
      await visible(b.page, 'auth');
      assert.match(b.page.url(), /auth=signin/);
    } finally {
      await b.browser.close();
    }
  });
});
