// Convene web app: the language of the app. Every user-visible string comes from one catalogue per
// language (locales/<lang>.js, flat `key → text` maps). The language is the visitor's choice (saved
// in localStorage), else the first of the browser's languages we have, else English. Switching takes
// effect at once: static markup carries data-i18n* attributes that `translateDom` fills, text that a
// screen sets through `liveText` is made again, and screens that render text themselves re-render from
// `onLanguageChange`.
import en from './locales/en.js';
import zh from './locales/zh.js';
import fr from './locales/fr.js';
import ko from './locales/ko.js';

/** @typedef {'en' | 'zh' | 'fr' | 'ko'} Lang */
/** @typedef {keyof typeof en} Key */

/** The catalogues, and each language's name in itself (for the picker). */
export const CATALOGUES = /** @type {Record<Lang, Record<string, string>>} */ ({ en, zh, fr, ko });
export const LANGUAGE_NAMES = /** @type {Record<Lang, string>} */ ({ en: 'English', zh: '简体中文', fr: 'Français', ko: '한국어' });
const STORAGE_KEY = 'convene.lang';

/** @param {string} tag a BCP 47 tag such as "fr-CA" or "zh-Hans-CN" @returns {Lang | null} */
export function matchLanguage(tag) {
  const base = tag.toLowerCase().split('-')[0];
  return base in CATALOGUES ? /** @type {Lang} */ (base) : null;
}

/** The browser's languages, most wanted first. @returns {readonly string[]} */
const browserTags = () => (navigator.languages?.length ? navigator.languages : [navigator.language]).filter(Boolean);

/** @returns {Lang} */
function initialLanguage() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage blocked: use the browser's languages */ }
  const fromSaved = saved ? matchLanguage(saved) : null;
  if (fromSaved) return fromSaved;
  for (const tag of browserTags()) {
    const l = matchLanguage(tag);
    if (l) return l;
  }
  return 'en';
}

/** @type {Lang} */
let current = initialLanguage();
/** @type {Set<(lang: Lang) => void>} */
const listeners = new Set();
/** Text set through `liveText`, made again after a switch. @type {Map<Element, () => string>} */
const live = new Map();

export const language = () => current;

/**
 * The locale for dates, times and numbers: the browser's own tag when it is of the current language (so
 * "en-GB" keeps its day-month order), else the language itself.
 */
export function locale() {
  const own = browserTags().find((tag) => matchLanguage(tag) === current);
  return own || (current === 'zh' ? 'zh-Hans-CN' : current);
}

/**
 * The text for `key` in the current language, with `{name}` placeholders filled from `vars`. A key
 * missing from a catalogue falls back to English (the catalogue test keeps that from happening).
 * @param {Key} key @param {Record<string, string | number>} [vars]
 */
export function t(key, vars) {
  const text = CATALOGUES[current][key] ?? en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

/**
 * Like `t`, as nodes: a placeholder whose value is a Node (a name in <strong>, say) is put in as that
 * node, wherever the language places it.
 * @param {Key} key @param {Record<string, string | number | Node>} vars @returns {(string | Node)[]}
 */
export function tNodes(key, vars) {
  const text = CATALOGUES[current][key] ?? en[key] ?? key;
  /** @type {(string | Node)[]} */
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    const at = /** @type {number} */ (m.index);
    if (!(m[1] in vars)) continue;
    if (at > last) out.push(text.slice(last, at));
    const v = vars[m[1]];
    out.push(v instanceof Node ? v : String(v));
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * One of `forms` for the count `n` by the current language's plural rules (English: one/other;
 * French: 0 and 1 are "one"; Chinese and Korean: always "other").
 * @param {number} n @param {{ one?: () => string, other: () => string }} forms
 */
export function plural(n, forms) {
  const rule = new Intl.PluralRules(locale()).select(n);
  return (rule === 'one' && forms.one ? forms.one : forms.other)();
}

/** A time of day (hours and minutes) in the current language. @param {number} ms */
export const formatTime = (ms) => new Date(ms).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
/** A date and time in the current language. @param {number} ms */
export const formatDateTime = (ms) => new Date(ms).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' });

/**
 * Shows `text()` in `el` now and again after every language switch; `null` empties `el` and stops. Every
 * write to such an element goes through here, so that a switch never brings back an older text.
 * @param {Element} el @param {(() => string) | null} text
 */
export function liveText(el, text) {
  if (text) live.set(el, text); else live.delete(el);
  el.textContent = text ? text() : '';
}

/**
 * Fills the text of static markup under `root`: `data-i18n` (textContent), `data-i18n-placeholder`,
 * `data-i18n-title`, `data-i18n-aria-label`.
 * @param {ParentNode} [root]
 */
export function translateDom(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(/** @type {Key} */ (el.getAttribute('data-i18n')));
  for (const [attr, prop] of [['data-i18n-placeholder', 'placeholder'], ['data-i18n-title', 'title'], ['data-i18n-aria-label', 'aria-label']]) {
    for (const el of root.querySelectorAll(`[${attr}]`)) el.setAttribute(prop, t(/** @type {Key} */ (el.getAttribute(attr))));
  }
  document.documentElement.lang = current === 'zh' ? 'zh-Hans' : current;
}

/** Switches the language now, remembers the choice, and tells the screens. @param {Lang} lang */
export function setLanguage(lang) {
  current = lang;
  try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* not remembered; still switched */ }
  translateDom();
  for (const [el, text] of live) {
    if (el.isConnected) el.textContent = text(); else live.delete(el);
  }
  for (const fn of listeners) fn(lang);
}

/** Calls `fn` after every language switch; returns a function that stops it. @param {(lang: Lang) => void} fn */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
