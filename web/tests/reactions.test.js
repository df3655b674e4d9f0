// End-to-end: reactions. Sent from the control bar's menu (mouse and keyboard), carried by the server to
// everyone, shown on the sender's tile on every page (the sender's own included) for a few seconds, several
// at once stacking; too many too fast get a gentle toast.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, screenshot, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-reactions';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

describe('reactions', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  let idA = '';

  before(async () => {
    srv = await startServer();
    [A, Bb] = await Promise.all([openBrowser(), openBrowser()]);
    idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
  });

  after(() => teardown(srv, [A, Bb]));

  /** @param {string} emoji */
  const onAlicesTile = (emoji) => `.tile[data-participant-id="${idA}"][data-source="camera"] .reaction[data-emoji="${emoji}"]`;

  it('1. a reaction sent with the keyboard shows on the sender\'s tile on both pages, then goes', async () => {
    await A.page.waitForSelector('#c-react:not([hidden])', { timeout: 5000 });
    await A.page.focus('#c-react');
    await A.page.keyboard.press('Enter');
    await A.page.waitForSelector('#reactions:not([hidden])');
    assert.equal(await A.page.getAttribute('#c-react', 'aria-expanded'), 'true');
    // The first emoji has the focus; the arrow key moves to the second (👏), Enter sends it.
    assert.equal(await A.page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.emoji), '👍');
    await A.page.keyboard.press('ArrowRight');
    await A.page.keyboard.press('Enter');
    const sentAt = Date.now();
    for (const p of [Bb.page, A.page]) await p.waitForSelector(onAlicesTile('👏'), { timeout: 5000 });
    await screenshot(Bb.page, 'reactions-seen');
    // Said to screen readers too.
    assert.match(await Bb.page.textContent('#reaction-live') || '', /Alice/);
    // Escape closes the menu and gives the focus back to its button.
    await A.page.keyboard.press('Escape');
    await A.page.waitForSelector('#reactions', { state: 'hidden' });
    assert.equal(await A.page.evaluate(() => document.activeElement?.id), 'c-react');
    // Gone after a few seconds (3.5 s), not before.
    await sleep(Math.max(0, sentAt + 2000 - Date.now()));
    assert.equal(await Bb.page.locator(onAlicesTile('👏')).count(), 1, 'gone too early');
    await Bb.page.waitForSelector(onAlicesTile('👏'), { state: 'detached', timeout: 5000 });
  });

  it('2. several at once stack on the tile', async () => {
    await A.page.click('#c-react');
    await A.page.waitForSelector('#reactions:not([hidden])');
    await screenshot(A.page, 'reactions-menu');
    for (const e of ['👍', '🎉', '❤️']) await A.page.click(`#reactions [data-emoji="${e}"]`);
    await Bb.page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, `.tile[data-participant-id="${idA}"] .reaction`, { timeout: 5000 });
    await screenshot(Bb.page, 'reactions-stacked');
    // A click elsewhere closes the menu.
    await A.page.mouse.click(640, 300);
    await A.page.waitForSelector('#reactions', { state: 'hidden' });
  });

  it('3. too many too fast: the server refuses some and the sender gets a gentle toast', async () => {
    await sleep(4000); // the earlier ones have gone
    await A.page.evaluate(() => { for (let i = 0; i < 15; i++) /** @type {any} */ (window).convene.sendReaction('👍'); });
    await A.page.waitForSelector('#toast:not([hidden]):text("too many reactions")', { timeout: 5000 });
    // The ones accepted still show, but no more than a tile holds at once.
    const shown = await Bb.page.locator(`.tile[data-participant-id="${idA}"] .reaction`).count();
    assert.ok(shown >= 1 && shown <= 5, `${shown} reactions on the tile`);
  });

  it('4. a tile holds at most 5 at once (a burst does not bury the video)', async () => {
    await sleep(4000); // the earlier ones have gone
    // Eight reactions arriving together (as the SDK reports them) on Bob's page.
    await Bb.page.evaluate((id) => {
      const c = /** @type {any} */ (window).convene;
      for (let i = 0; i < 8; i++) c._emit('reaction', { participantId: id, emoji: '🎉', ts: Date.now(), own: false });
    }, idA);
    assert.equal(await Bb.page.locator(`.tile[data-participant-id="${idA}"] .reaction`).count(), 5);
  });
});
