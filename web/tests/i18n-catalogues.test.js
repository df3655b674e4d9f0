// The app's catalogues (web/app/locales): every language has exactly English's keys, no empty text, the
// same {placeholders} per key, no copy of English left untranslated (outside a short list of words that
// are the same), and every key is used by the app while every key the app uses exists. Pure node.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const APP = join(dirname(fileURLToPath(import.meta.url)), '..', 'app');
const LANGS = ['zh', 'fr', 'ko'];
/** @type {Record<string, Record<string, string>>} */
const cat = {};
for (const lang of ['en', ...LANGS]) cat[lang] = (await import(join(APP, 'locales', `${lang}.js`))).default;
const en = cat.en;

/** Values that are rightly the same as English (names, punctuation, words the language shares). */
const SAME_AS_EN = {
  zh: ['app.name', 'past.span', 'shortcuts.keyEsc'],
  fr: ['app.name', 'common.separator', 'past.span', 'chat.label', 'device.microphone', 'device.microphone_n', 'controls.people',
    'ended.minutes_one', 'ended.minutes_other'],
  ko: ['app.name', 'common.separator', 'past.chat_from', 'shortcuts.keyEsc', 'audit.line', 'audit.line_target'],
};

/** @param {string} text */
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** The app's sources: web/app/**\/*.js (the catalogues aside) and index.html, relative path → text. */
function sources() {
  /** @type {Map<string, string>} */
  const out = new Map();
  /** @param {string} dir */
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'locales') walk(p); } else if (e.name.endsWith('.js') || e.name.endsWith('.html')) out.set(relative(APP, p), readFileSync(p, 'utf8'));
    }
  };
  walk(APP);
  return out;
}

/**
 * The literal keys the sources use: `t('key'` and `tNodes('key'` in scripts, `data-i18n*="key"` in markup
 * (the only ways the app names a key), each with where it was seen.
 */
function usedKeys() {
  /** @type {Map<string, string>} */
  const used = new Map();
  for (const [file, text] of sources()) {
    for (const m of text.matchAll(/\b(?:t|tNodes)\(\s*'([^']+)'/g)) used.set(m[1], file);
    for (const m of text.matchAll(/\bdata-i18n(?:-placeholder|-title|-aria-label)?="([^"]+)"/g)) used.set(m[1], file);
  }
  return used;
}

it('every catalogue has exactly the English keys', () => {
  for (const lang of LANGS) {
    const missing = Object.keys(en).filter((k) => !Object.hasOwn(cat[lang], k));
    const extra = Object.keys(cat[lang]).filter((k) => !Object.hasOwn(en, k));
    assert.deepEqual(missing, [], `${lang}.js lacks ${missing.join(', ')}`);
    assert.deepEqual(extra, [], `${lang}.js has keys that en.js does not: ${extra.join(', ')}`);
  }
});

it('no text is empty and every text keeps its key\'s placeholders', () => {
  for (const lang of ['en', ...LANGS]) {
    for (const [key, text] of Object.entries(cat[lang])) {
      assert.equal(typeof text, 'string', `${lang}: ${key} is not a string`);
      assert.ok(text.trim(), `${lang}: ${key} is empty`);
      if (lang !== 'en') assert.deepEqual(placeholders(text), placeholders(en[key]), `${lang}: ${key} has {${placeholders(text)}}, en has {${placeholders(en[key])}}`);
    }
  }
});

it('no English text is left untranslated', () => {
  for (const lang of LANGS) {
    const same = Object.keys(en).filter((k) => cat[lang][k] === en[k] && !SAME_AS_EN[/** @type {'zh'} */ (lang)].includes(k));
    assert.deepEqual(same, [], `${lang}.js repeats the English text of ${same.join(', ')}`);
    const stale = SAME_AS_EN[/** @type {'zh'} */ (lang)].filter((k) => cat[lang][k] !== en[k]);
    assert.deepEqual(stale, [], `SAME_AS_EN.${lang} lists keys that differ from English now: ${stale.join(', ')}`);
  }
});

it('every key the app uses exists, and every key is used', () => {
  const used = usedKeys();
  const unknown = [...used].filter(([k]) => !Object.hasOwn(en, k)).map(([k, f]) => `${k} (${f})`);
  assert.deepEqual(unknown, [], `keys used but not in en.js: ${unknown.join(', ')}`);
  const unused = Object.keys(en).filter((k) => !used.has(k));
  assert.deepEqual(unused, [], `keys in en.js that nothing uses: ${unused.join(', ')}`);
});

it('keys are literal: no t() call with a computed key (the scan above could not see it)', () => {
  for (const [file, text] of sources()) {
    if (file === 'i18n.js') continue; // translateDom reads the data-i18n attributes, scanned above
    const computed = [...text.matchAll(/\b(?:t|tNodes)\((?!\s*')[^)]*\)?/g)].map((m) => m[0]);
    assert.deepEqual(computed, [], `${file} calls t() with a computed key: ${computed.join(' ')}`);
  }
});

it('each catalogue keeps the line below which the meeting\'s new screens add their keys', () => {
  for (const lang of ['en', ...LANGS]) {
    const text = readFileSync(join(APP, 'locales', `${lang}.js`), 'utf8');
    assert.match(text, /\/\/ -- In the meeting: quality, sharing, reactions, invite, shortcuts, audio output/, `${lang}.js lost the section line`);
  }
});
