// End-to-end: accounts in the app, as people meet them. Someone signs up on the home page (the server's
// refusal shown by the field), plans a meeting for invited emails in "My meetings" and gets its link; the
// invited person signs up and joins through the link, their name filled in from the account; a guest is
// sent to sign in and back, and an account that is not invited is told so until the owner opens the
// meeting to every account. Afterwards the owner sees who attended and the chat.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, teardown, screenshot, until } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {import('playwright-core').Page} Page */

const connected = (/** @type {Page} */ p) => p.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
const visible = (/** @type {Page} */ p, /** @type {string} */ id) => p.waitForSelector(`#${id}:not([hidden])`, { timeout: 15_000 });

/** Fills and sends the sign-up form. @param {Page} p @param {string} name @param {string} email @param {string} password */
async function signUp(p, name, email, password) {
  await p.fill('#f-name', name);
  await p.fill('#f-email', email);
  await p.fill('#f-password', password);
  await p.click('#auth-submit');
}

describe('accounts and My meetings in the app', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let owner;
  /** @type {B} */ let friend;
  /** @type {B} */ let guest;
  let link = '';

  before(async () => {
    srv = await startServer();
    [owner, friend, guest] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [owner, friend, guest]));

  it('signs up, plans an invited meeting, and the invited account joins through its link', async () => {
    const o = owner.page;
    await o.goto(srv.url);
    await o.click('#go-signup');
    await visible(o, 'auth');
    await signUp(o, 'Olga Owner', 'owner@example.org', 'short');
    await visible(o, 'f-password-error');
    assert.match(await o.textContent('#f-password-error') || '', /password/i);
    await o.fill('#f-password', 'a long enough password');
    await o.click('#auth-submit');
    await visible(o, 'acct-in');
    assert.equal(await o.textContent('#acct-name'), 'Olga Owner');

    await o.click('#go-mine');
    await visible(o, 'mine');
    await o.fill('#p-title', 'Design review');
    await o.selectOption('#p-access', 'invited');
    await o.fill('#p-invited', 'friend@example.org');
    await o.click('#plan-submit');
    await visible(o, 'plan-result');
    link = await o.inputValue('#plan-link');
    assert.match(link, new RegExp(`^${srv.url}/r/[a-z0-9-]+$`));
    const item = o.locator('#planned-list li', { hasText: 'Design review' });
    await item.waitFor({ timeout: 10_000 });
    assert.match(await item.textContent() || '', /invited emails only · invited: friend@example\.org · no password/);

    const f = friend.page;
    await f.goto(`${srv.url}/?auth=signup`);
    await signUp(f, 'Fran Friend', 'friend@example.org', 'another long password');
    await visible(f, 'acct-in');
    await f.goto(`${link}?cam=0&mic=0`);
    await visible(f, 'prejoin');
    await f.waitForFunction(() => /** @type {HTMLInputElement} */ (document.getElementById('name-input')).value === 'Fran Friend', null, { timeout: 10_000 });
    await f.click('#join-btn');
    await connected(f);
    await f.click('#c-chat');
    await f.fill('#chat-input', 'Agenda: the new logo');
    await f.press('#chat-input', 'Enter');
    await f.waitForSelector('#chat-list li.own .text');
  });

  it('sends a guest to sign in and back; a not-invited account is told so until the owner opens the meeting', async () => {
    const g = guest.page;
    await g.goto(`${link}?name=Guest&autojoin=1&cam=0&mic=0`);
    await visible(g, 'ended');
    assert.match(await g.textContent('#ended-title') || '', /for members/);
    await g.click('#ended-signin');
    await visible(g, 'auth');
    await visible(g, 'auth-next');
    await g.fill('#f-email', 'sam@example.org');
    await g.fill('#f-password', 'no such account here');
    await g.click('#auth-submit');
    await visible(g, 'f-password-error');
    await g.click('#auth-other'); // to sign up, still going back to the meeting
    await visible(g, 'f-name-row');
    await signUp(g, 'Sam Stranger', 'sam@example.org', 'yet another long password');
    await g.waitForURL(link, { timeout: 15_000 });
    await visible(g, 'prejoin');
    await g.click('#join-btn');
    await visible(g, 'ended');
    assert.match(await g.textContent('#ended-title') || '', /invitation list/);

    // The owner lets every account in; the same person then gets in with "Rejoin".
    const o = owner.page;
    await o.locator('#planned-list li', { hasText: 'Design review' }).getByRole('button', { name: 'Edit' }).click();
    assert.equal(await o.inputValue('#p-title'), 'Design review');
    await o.selectOption('#p-access', 'accounts');
    await o.fill('#p-password', 'door code');
    await o.click('#plan-submit');
    await o.locator('#planned-list li', { hasText: 'signed-in accounts · has a password' }).waitFor({ timeout: 10_000 });
    // ...and removes the password again.
    await o.locator('#planned-list li', { hasText: 'Design review' }).getByRole('button', { name: 'Edit' }).click();
    await o.check('#p-nopw');
    await o.click('#plan-submit');
    await o.locator('#planned-list li', { hasText: 'signed-in accounts · no password' }).waitFor({ timeout: 10_000 });
    await g.click('#rejoin');
    await visible(g, 'prejoin');
    await g.click('#join-btn');
    await connected(g);
    assert.equal(await g.evaluate(() => /** @type {any} */ (window).convene.me?.display_name), 'Sam Stranger');
    await screenshot(g, 'accounts-ui-guest');
  });

  it('shows the past meeting with who attended and its chat', async () => {
    for (const p of [friend.page, guest.page]) await p.click('#c-leave');
    const o = owner.page;
    // The records are written as people leave: wait until both sessions have ended.
    const ended = await until(() => o.evaluate(async () => {
      const { meetings } = await (await fetch('/api/v1/meetings')).json();
      if (!meetings.length) return false;
      const d = await (await fetch(`/api/v1/meetings/${meetings[0].id}`)).json();
      return d.sessions.length >= 2 && d.sessions.every((/** @type {any} */ s) => s.left_at !== null);
    }), 15_000);
    assert.ok(ended, 'the sessions were recorded as ended');
    await o.goto(`${srv.url}/?view=mine`);
    const past = o.locator('#past-list li').first();
    await past.waitFor({ timeout: 10_000 });
    assert.match(await past.locator('.item-title').textContent() || '', /^Design review \(/);
    await past.getByRole('button', { name: 'Who attended' }).click();
    await o.waitForFunction(() => /Fran Friend/.test(document.querySelector('#past-list .attended')?.textContent || ''), null, { timeout: 10_000 });
    assert.match(await past.locator('.attended').textContent() || '', /Attended: .*Sam Stranger/);
    await past.getByRole('button', { name: 'Show chat' }).click();
    await past.locator('.transcript li', { hasText: 'Agenda: the new logo' }).waitFor({ timeout: 10_000 });
    assert.match(await past.locator('.transcript').textContent() || '', /Fran Friend: Agenda: the new logo/);
    await screenshot(o, 'accounts-ui-my-meetings');
  });
});
