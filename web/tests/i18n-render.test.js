// End-to-end: the app in English, Chinese, French and Korean. The browser's language chooses the app's (home
// and meeting, a screenshot of each per language in artifacts/); a refusal shows the catalogue's text for its
// code, not the server's English; switching in the meeting's Settings (or the picker of the home and prejoin
// screens) relabels what is on screen without a reload, and the choice survives one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, teardown, screenshot } from './helpers.js';
import en from '../app/locales/en.js';
import zh from '../app/locales/zh.js';
import fr from '../app/locales/fr.js';
import ko from '../app/locales/ko.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {Record<string, string>} Catalogue */

/** Each language: the browser locale that should choose it, and its catalogue. */
const LANGS = /** @type {const} */ ([
  { lang: 'en', locale: 'en-US', cat: /** @type {Catalogue} */ (en), name: 'Ada' },
  { lang: 'zh', locale: 'zh-CN', cat: /** @type {Catalogue} */ (zh), name: '李雷' },
  { lang: 'fr', locale: 'fr-FR', cat: /** @type {Catalogue} */ (fr), name: 'Zoé' },
  { lang: 'ko', locale: 'ko-KR', cat: /** @type {Catalogue} */ (ko), name: '민지' },
]);

/** A catalogue text with its placeholders filled. @param {string} text @param {Record<string, string | number>} vars */
const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

describe('the app in four languages', { timeout: 180_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B[]} */
  let browsers = [];

  before(async () => {
    srv = await startServer();
    browsers = await Promise.all(LANGS.map((l) => openBrowser({ locale: l.locale, width: 1100, height: 650 })));
  });

  after(() => teardown(srv, browsers));

  it('the browser\'s language chooses the app\'s: home, then a meeting, a screenshot of each', async () => {
    for (const [i, l] of LANGS.entries()) {
      const page = browsers[i].page;
      await page.goto(srv.url);
      await page.waitForSelector('#home:not([hidden])');
      assert.equal(await page.textContent('#new-meeting'), l.cat['home.start'], `${l.lang}: the start button`);
      assert.equal(await page.getAttribute('#room-input', 'placeholder'), l.cat['home.room_label'], `${l.lang}: the placeholder`);
      assert.equal(await page.evaluate(() => document.documentElement.lang), l.lang === 'zh' ? 'zh-Hans' : l.lang);
      assert.equal(await page.inputValue('#lang-select'), l.lang, `${l.lang}: the picker shows the language`);
      await screenshot(page, `i18n-home-${l.lang}`);
    }
    for (const [i, l] of LANGS.entries()) await joinByLink(browsers[i].page, srv.url, 'polyglot', l.name, '&cam=1');
    for (const [i, l] of LANGS.entries()) {
      const page = browsers[i].page;
      const count = fill(l.cat['meeting.count_other'], { n: LANGS.length });
      await page.waitForFunction((c) => document.getElementById('m-count')?.textContent === c, count, { timeout: 15_000 });
      assert.equal(await page.getAttribute('#c-leave', 'title'), l.cat['controls.leave'], `${l.lang}: the leave button`);
      assert.equal(await page.getAttribute('#c-mic', 'aria-label'), l.cat['controls.mute'], `${l.lang}: the microphone button`);
      assert.equal(await page.textContent('#copy-link'), l.cat['meeting.copy_link']);
      const own = await page.evaluate(() => document.querySelector('.tile.me.camera .name')?.textContent);
      assert.equal(own, fill(l.cat['people.you'], { name: l.name }), `${l.lang}: the own tile's label`);
      // Names are never translated: the others' tiles show them as they are.
      const others = await page.$$eval('.tile.camera:not(.me) .name', (els) => els.map((e) => e.textContent).sort());
      assert.deepEqual(others, LANGS.filter((o) => o !== l).map((o) => o.name).sort());
    }
    for (const [i, l] of LANGS.entries()) await screenshot(browsers[i].page, `i18n-meeting-${l.lang}`);
  });

  it('switching in the meeting\'s Settings relabels the screen at once, and the choice survives a reload', async () => {
    const page = browsers[0].page; // English, from the browser's locale
    await page.click('#c-chat');
    await page.fill('#chat-input', 'Bonjour à tous');
    await page.press('#chat-input', 'Enter');
    await page.waitForFunction(() => document.querySelector('#chat-list li.own .meta strong')?.textContent === 'You');
    await page.click('#c-people');
    await page.evaluate(() => { /** @type {any} */ (window).__samePage = true; });
    await page.click('#c-settings');
    assert.equal(await page.getAttribute('#settings', 'aria-label'), en['settings.title']);
    await page.selectOption('#m-lang', 'fr');

    const shown = await page.evaluate(() => ({
      same: /** @type {any} */ (window).__samePage,
      lang: document.documentElement.lang,
      leave: document.getElementById('c-leave')?.title,
      mic: document.getElementById('c-mic')?.getAttribute('aria-label'),
      settingsButton: document.getElementById('c-settings')?.title,
      settings: document.getElementById('settings')?.getAttribute('aria-label'),
      micLabel: document.querySelector('label[for="m-audio"]')?.textContent,
      count: document.getElementById('m-count')?.textContent,
      copy: document.getElementById('copy-link')?.textContent,
      chatTab: document.getElementById('tab-chat')?.textContent,
      peopleTab: document.getElementById('tab-people')?.textContent,
      placeholder: document.getElementById('chat-input')?.getAttribute('placeholder'),
      you: document.querySelector('#chat-list li.own .meta strong')?.textContent,
      tile: document.querySelector('.tile.me.camera .name')?.textContent,
      person: document.querySelector('#people-list li .name')?.textContent,
    }));
    assert.deepEqual(shown, {
      same: true,
      lang: 'fr',
      leave: fr['controls.leave'],
      mic: fr['controls.mute'],
      settingsButton: fr['controls.settings'],
      settings: fr['settings.title'],
      micLabel: fr['device.microphone'],
      count: fill(fr['meeting.count_other'], { n: 4 }),
      copy: fr['meeting.copy_link'],
      chatTab: fr['meeting.chat_tab'],
      peopleTab: fill(fr['meeting.people_tab'], { n: 4 }),
      placeholder: fr['chat.placeholder'],
      you: fr['chat.you'],
      tile: fill(fr['people.you'], { name: 'Ada' }),
      person: fill(fr['people.you'], { name: 'Ada' }),
    });
    assert.notEqual(fr['controls.leave'], en['controls.leave'], 'the test would not see a switch');
    await screenshot(page, 'i18n-switched-fr');

    await page.reload();
    await page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__samePage), undefined, 'the page did not reload');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr', 'the choice was forgotten');
    assert.equal(await page.getAttribute('#c-leave', 'title'), fr['controls.leave']);
    assert.equal(await page.inputValue('#m-lang'), 'fr');

    // A chat message the server refuses (over 4,000 characters; the field's maxlength stops only typing, so the
    // script sets the value):
    // the toast says why by the code, in French, not with the server's English message.
    await page.click('#c-chat');
    await page.evaluate(() => { /** @type {HTMLInputElement} */ (document.getElementById('chat-input')).value = 'x'.repeat(4001); });
    await page.press('#chat-input', 'Enter');
    const refused = fill(fr['chat.not_sent'], { reason: fr['error.chat_too_long'] });
    await page.waitForFunction((r) => document.getElementById('toast')?.textContent === r, refused, { timeout: 10_000 });
  });

  it('the home and prejoin pickers switch at once; a refusal shows its code\'s text, also after a switch', async () => {
    const page = browsers[1].page; // Chinese, from the browser's locale
    await page.goto(`${srv.url}/r/p%D0%B0ypal?name=Eve&autojoin=1`); // Latin with a Cyrillic а: invalid_room_name
    await page.waitForSelector('#home-error:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.textContent('#home-error'), zh['error.invalid_room_name']);
    await page.evaluate(() => { /** @type {any} */ (window).__samePage = true; });
    await page.selectOption('#lang-select', 'ko');
    assert.equal(await page.textContent('#home-error'), ko['error.invalid_room_name'], 'the shown error was not remade');
    assert.equal(await page.textContent('#new-meeting'), ko['home.start']);
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__samePage), true);

    await page.goto(`${srv.url}/r/picker-room`);
    await page.waitForSelector('#prejoin:not([hidden])');
    assert.equal(await page.textContent('#join-btn'), ko['prejoin.join'], 'the choice made on the home page was kept');
    assert.equal(await page.textContent('#pre-title'), fill(ko['prejoin.title'], { room: 'picker-room' }));
    await page.fill('#name-input', '');
    await page.click('#join-btn');
    assert.equal(await page.textContent('#name-error'), ko['name.display_empty']);
    await page.selectOption('#lang-select', 'fr');
    assert.equal(await page.textContent('#join-btn'), fr['prejoin.join']);
    assert.equal(await page.textContent('#pre-title'), fill(fr['prejoin.title'], { room: 'picker-room' }));
    assert.equal(await page.textContent('#name-error'), fr['name.display_empty']);
    assert.equal(await page.getAttribute('#pre-mic', 'aria-label'), fr['prejoin.mic_turn_off']);
  });
});
