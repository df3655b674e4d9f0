// End-to-end: the meeting's finish — the invite card when alone, "you are sharing" with Stop (and no
// tile of your own screen), toasts that never cover a tile's name, the shortcuts help, and the choice of
// speaker. Real Chromium with fake devices against the real server (scripts/test-web.sh).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, screenshot, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-ui';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {import('playwright-core').Page} Page */

/** Whether `#invite`, if shown, and the tiles overlap (the card sits beside the stage). @param {Page} page */
const tilesUnderInvite = (page) => page.evaluate(() => {
  const card = /** @type {HTMLElement} */ (document.getElementById('invite')).getBoundingClientRect();
  return [...document.querySelectorAll('.tile')].filter((t) => {
    const r = t.getBoundingClientRect();
    return r.left < card.right && card.left < r.right && r.top < card.bottom && card.top < r.bottom;
  }).length;
});

/**
 * The notices shown at the top (toast, sharing bar, ...) that overlap a tile's name label, with the boxes,
 * once the tiles have stopped moving. @param {Page} page
 */
async function noticesOverNames(page) {
  await sleep(450); // tiles move with a 200 ms transition
  return page.evaluate(() => {
    /** @param {Element} e */
    const box = (e) => { const r = e.getBoundingClientRect(); return { l: r.left, t: r.top, r: r.right, b: r.bottom }; };
    const notices = ['toast', 'share-bar', 'net-notice'].map((id) => /** @type {HTMLElement} */ (document.getElementById(id))).filter((e) => !e.hidden);
    const labels = [...document.querySelectorAll('.tile .label')];
    const hits = [];
    for (const n of notices) {
      for (const l of labels) {
        const a = box(n), b = box(l);
        if (a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b) hits.push({ notice: n.id, a, label: l.textContent, b });
      }
    }
    return { hits, notices: notices.map((n) => n.id), labels: labels.length };
  });
}

/** Shows a toast through the app's own module (the same instance the page uses). @param {Page} page @param {string} text */
const showToast = (page, text) => page.evaluate(async (t) => {
  const url = '/app/dom.js'; // the page's module, not one tsc resolves
  const dom = await import(url);
  dom.toast(() => t, 60_000);
}, text);

describe('the meeting\'s finish', { timeout: 240_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  /** @type {Record<string, string>} */
  const id = {};

  before(async () => {
    srv = await startServer();
    [A, Bb] = await Promise.all([openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, [A, Bb]));

  it('1. alone: an invite card with the link and Copy; it goes when someone joins and comes back when they leave', async () => {
    id.A = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    await A.page.waitForSelector('#invite:not([hidden])', { timeout: 5000 });
    const url = `${srv.url}/r/${ROOM}`;
    assert.equal(await A.page.inputValue('#invite-link'), url);
    assert.equal(await tilesUnderInvite(A.page), 0, 'the card covers a tile');
    await A.page.click('#invite-copy');
    await A.page.waitForSelector('#invite-copy:text("Copied")', { timeout: 5000 });
    assert.equal(await A.page.evaluate(() => navigator.clipboard.readText()), url);
    await screenshot(A.page, 'ui-invite-alone');
    // On a phone the card goes below the video, still covering nothing.
    await A.page.setViewportSize({ width: 390, height: 760 });
    await sleep(450);
    assert.equal(await tilesUnderInvite(A.page), 0, 'the card covers a tile on a phone');
    await screenshot(A.page, 'ui-invite-alone-phone');
    await A.page.setViewportSize({ width: 1280, height: 720 });
    // Where the clipboard refuses, the link is selected for Ctrl+C and the card says so.
    await A.page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('denied', 'NotAllowedError')); });
    await A.page.click('#invite-copy');
    await A.page.waitForFunction(() => {
      const i = /** @type {HTMLInputElement} */ (document.getElementById('invite-link'));
      return document.activeElement === i && i.selectionStart === 0 && i.selectionEnd === i.value.length;
    }, null, { timeout: 5000 });
    assert.match(await A.page.textContent('#invite-hint') || '', /Ctrl\+C/);

    id.B = await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
    await A.page.waitForSelector('#invite', { state: 'hidden', timeout: 10_000 });
    assert.equal(await Bb.page.isHidden('#invite'), true, 'Bob is not alone');
    await Bb.page.click('#c-leave');
    await A.page.waitForSelector('#invite:not([hidden])', { timeout: 10_000 });
    id.B = await joinByLink(Bb.page, srv.url, ROOM, 'Bob');
    await A.page.waitForSelector('#invite', { state: 'hidden', timeout: 10_000 });
    await A.page.waitForSelector(`.tile.has-video[data-participant-id="${id.B}"]`, { timeout: 15_000 });
  });

  it('2. sharing: a bar with Stop, no tile of your own screen; the others get it on stage; Stop and the browser\'s stop end it', async () => {
    const sharing = () => A.page.evaluate(() => !!(/** @type {any} */ (window).convene.localTracks.screen));
    const bobSees = `.tile[data-participant-id="${id.A}"][data-source="screen"]`;
    for (const how of ['stop button', 'browser stop']) {
      await A.page.click('#c-screen');
      await A.page.waitForSelector('#share-bar:not([hidden])', { timeout: 10_000 });
      assert.equal(await A.page.locator('.tile[data-source="screen"]').count(), 0, 'the sharer sees a tile of their own screen');
      await Bb.page.waitForSelector(bobSees, { timeout: 15_000 });
      // For Bob the share takes the stage: speaker view, the screen tile the largest.
      await Bb.page.waitForSelector('#stage.speaker', { timeout: 5000 });
      await sleep(400);
      const widths = await Bb.page.$$eval('.tile', (ts) => ts.map((t) => /** @type {[string, number]} */ ([/** @type {HTMLElement} */ (t).dataset.source || '', t.getBoundingClientRect().width])));
      const biggest = widths.reduce((m, w) => (w[1] > m[1] ? w : m));
      assert.equal(biggest[0], 'screen', `Bob's stage: ${JSON.stringify(widths)}`);
      if (how === 'stop button') {
        await screenshot(A.page, 'ui-sharing-bar');
        await screenshot(Bb.page, 'ui-sharing-seen');
        // Alice's own speaker view puts Bob, not her screen, on her stage.
        await A.page.keyboard.press('s');
        await A.page.waitForSelector('#stage.speaker');
        await sleep(400);
        const main = await A.page.$$eval('.tile', (ts) => ts.reduce((m, t) => (t.getBoundingClientRect().width > m.getBoundingClientRect().width ? t : m)).getAttribute('data-participant-id'));
        assert.equal(main, id.B);
        await A.page.keyboard.press('s');
        await A.page.click('#share-stop');
      } else {
        // What Chrome's own "Stop sharing" button does: the track ends.
        await A.page.evaluate(() => /** @type {any} */ (window).convene.localTracks.screen.dispatchEvent(new Event('ended')));
      }
      await A.page.waitForSelector('#share-bar', { state: 'hidden', timeout: 5000 });
      assert.equal(await sharing(), false, `${how}: still sharing`);
      await Bb.page.waitForSelector(bobSees, { state: 'detached', timeout: 15_000 });
    }
  });

  it('3. toasts never cover a tile\'s name: grid, speaker view, while sharing, on a phone', async () => {
    const long = 'Access to the microphone and camera was denied: you are in the meeting without them (allow them in the browser\'s site settings, then turn them on).';
    /** @param {string} where */
    const check = async (where) => {
      const r = await noticesOverNames(A.page);
      assert.ok(r.notices.includes('toast') && r.labels >= 2, `${where}: nothing to check: ${JSON.stringify(r)}`);
      assert.deepEqual(r.hits, [], `${where}: a notice covers a name`);
    };
    // A real toast first: Bob raises his hand.
    await Bb.page.keyboard.press('h');
    await A.page.waitForSelector('#toast:not([hidden]):text("Bob raised a hand")', { timeout: 10_000 });
    await check('grid, hand toast');
    await Bb.page.keyboard.press('h');
    await showToast(A.page, long);
    await check('grid, long toast');
    await A.page.keyboard.press('s');
    await check('speaker view');
    await A.page.click('#c-screen');
    await A.page.waitForSelector('#share-bar:not([hidden])', { timeout: 10_000 });
    await check('speaker view, sharing');
    await screenshot(A.page, 'ui-toast-speaker-sharing');
    await A.page.keyboard.press('s');
    await check('grid, sharing');
    for (const [w, h] of [[390, 760], [1280, 480]]) {
      await A.page.setViewportSize({ width: w, height: h });
      await check(`${w}×${h}, sharing`);
    }
    await screenshot(A.page, 'ui-toast-short-window');
    await A.page.setViewportSize({ width: 1280, height: 720 });
    await A.page.click('#share-stop');
    await A.page.waitForSelector('#share-bar', { state: 'hidden', timeout: 5000 });
    await A.page.evaluate(() => { /** @type {HTMLElement} */ (document.getElementById('toast')).hidden = true; });
  });

  it('4. `?` lists exactly the keys that work, each of which does what it says; Escape closes it', async () => {
    const page = A.page;
    const attr = (/** @type {string} */ sel, /** @type {string} */ name) => page.getAttribute(sel, name);
    // Opening the chat focuses its input, where keys are typed, not shortcuts.
    const blur = () => page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement)?.blur());
    /** What each key does, seen from the page; every key the help lists must be here and work. */
    /** @type {Record<string, () => Promise<void>>} */
    const effects = {
      m: async () => { const before = await attr('#c-mic', 'aria-pressed'); await page.keyboard.press('m'); await page.waitForFunction((b) => document.getElementById('c-mic')?.getAttribute('aria-pressed') !== b, before); await page.keyboard.press('m'); },
      v: async () => { await page.keyboard.press('v'); await page.waitForFunction(() => /** @type {any} */ (window).convene.muted.camera === true); await page.keyboard.press('v'); await page.waitForFunction(() => /** @type {any} */ (window).convene.muted.camera === false); },
      h: async () => { await page.keyboard.press('h'); await page.waitForFunction(() => /** @type {any} */ (window).convene.me?.hand_raised === true); await page.keyboard.press('h'); await page.waitForFunction(() => /** @type {any} */ (window).convene.me?.hand_raised === false); },
      s: async () => { await page.keyboard.press('s'); assert.equal(await attr('#c-layout', 'aria-pressed'), 'true'); await page.keyboard.press('s'); assert.equal(await attr('#c-layout', 'aria-pressed'), 'false'); },
      c: async () => { await page.keyboard.press('c'); await page.waitForSelector('#chat-panel:not([hidden])'); await blur(); await page.keyboard.press('c'); await page.waitForSelector('#side', { state: 'hidden' }); },
      p: async () => { await page.keyboard.press('p'); await page.waitForSelector('#people-panel:not([hidden])'); await page.keyboard.press('p'); await page.waitForSelector('#side', { state: 'hidden' }); },
      r: async () => { await page.keyboard.press('r'); await page.waitForSelector('#reactions:not([hidden])'); await page.keyboard.press('Escape'); await page.waitForSelector('#reactions', { state: 'hidden' }); },
      '?': async () => { await page.keyboard.press('?'); await page.waitForSelector('#shortcuts[open]'); await page.keyboard.press('?'); await page.waitForSelector('#shortcuts:not([open])', { state: 'attached' }); },
      escape: async () => { await page.click('#c-chat'); await page.waitForSelector('#side:not([hidden])'); await blur(); await page.keyboard.press('Escape'); await page.waitForSelector('#side', { state: 'hidden' }); },
    };
    await page.keyboard.press('?');
    await page.waitForSelector('#shortcuts[open]', { timeout: 5000 });
    const listed = await page.$$eval('#shortcuts-list .shortcut', (rows) => rows.map((r) => /** @type {HTMLElement} */ (r).dataset.key || ''));
    const reactions = await page.isVisible('#c-react');
    const expected = Object.keys(effects).filter((k) => k !== 'r' || reactions);
    assert.deepEqual([...listed].sort(), [...expected].sort(), 'the help and the working keys differ');
    assert.ok((await page.textContent('#shortcuts-list') || '').includes('Mute or unmute your microphone'));
    await screenshot(page, 'ui-shortcuts-help');
    // While the help is open, the other keys are not acted on.
    const mic = await attr('#c-mic', 'aria-pressed');
    await page.keyboard.press('m');
    assert.equal(await attr('#c-mic', 'aria-pressed'), mic);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#shortcuts:not([open])', { state: 'attached', timeout: 5000 });
    // Also from the button, and its Close.
    await page.click('#c-shortcuts');
    await page.waitForSelector('#shortcuts[open]');
    await page.click('#shortcuts-close');
    await page.waitForSelector('#shortcuts:not([open])', { state: 'attached' });
    for (const k of listed) await effects[k]();
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).convene.muted.mic), false);
  });

  it('5. the speaker choice (setSinkId) applies to every remote audio, later ones too, and is remembered', async () => {
    await A.page.click('#c-settings');
    await A.page.waitForSelector('#m-speaker-row:not([hidden])', { timeout: 5000 });
    const outputs = await A.page.$$eval('#m-speaker option', (os) => os.map((o) => /** @type {HTMLOptionElement} */ (o).value));
    const devices = await A.page.evaluate(async () => (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput').map((d) => d.deviceId));
    assert.deepEqual(outputs, devices);
    const chosen = outputs.find((o) => o !== 'default');
    assert.ok(chosen, `no second speaker among ${outputs}`);
    await A.page.selectOption('#m-speaker', chosen);
    await screenshot(A.page, 'ui-settings-speaker');
    const sinks = () => A.page.$$eval('#audio-sink audio', (as) => as.map((a) => /** @type {HTMLAudioElement} */ (a).sinkId));
    await A.page.waitForFunction((id) => [...document.querySelectorAll('#audio-sink audio')].every((a) => /** @type {HTMLAudioElement} */ (a).sinkId === id), chosen, { timeout: 5000 });
    assert.ok((await sinks()).length >= 1, 'no remote audio to check');
    assert.equal(await A.page.evaluate(() => localStorage.getItem('convene:audioOutput')), chosen);
    await A.page.click('#c-settings');

    // Someone joins later: the new audio element plays on the chosen speaker too.
    const C = await openBrowser();
    try {
      const before = (await sinks()).length;
      await joinByLink(C.page, srv.url, ROOM, 'Carol');
      await A.page.waitForFunction((n) => document.querySelectorAll('#audio-sink audio').length > n, before, { timeout: 15_000 });
      assert.deepEqual([...new Set(await sinks())], [chosen]);
      await C.page.click('#c-leave');
    } finally {
      await C.close();
    }

    // Remembered: after a reload the audio goes to it again.
    await A.page.reload();
    await A.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 15_000 });
    await A.page.waitForFunction(() => document.querySelectorAll('#audio-sink audio').length > 0, null, { timeout: 15_000 });
    await A.page.waitForFunction((id) => [...document.querySelectorAll('#audio-sink audio')].every((a) => /** @type {HTMLAudioElement} */ (a).sinkId === id), chosen, { timeout: 5000 });
    await A.page.click('#c-settings');
    await A.page.waitForFunction((id) => /** @type {HTMLSelectElement} */ (document.getElementById('m-speaker')).value === id, chosen, { timeout: 5000 });

    // A browser without setSinkId shows no speaker choice.
    await Bb.page.addInitScript(() => { delete (/** @type {any} */ (HTMLMediaElement.prototype)).setSinkId; });
    await Bb.page.reload();
    await Bb.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 15_000 });
    await Bb.page.click('#c-settings');
    await Bb.page.waitForSelector('#settings:not([hidden])');
    assert.equal(await Bb.page.isHidden('#m-speaker-row'), true);
  });
});
