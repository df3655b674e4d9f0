// Convene web app: the language pickers (the corner of the screens outside the meeting, and the meeting's
// Settings). Each lists the languages in their own names; a choice applies at once and is remembered.
import { LANGUAGE_NAMES, language, matchLanguage, setLanguage, onLanguageChange } from './i18n.js';
import { h } from './dom.js';

/** Fills every `select.lang-select` and keeps them showing the current language. */
export function initLanguagePickers() {
  const selects = /** @type {HTMLSelectElement[]} */ ([...document.querySelectorAll('select.lang-select')]);
  for (const sel of selects) {
    sel.replaceChildren(...Object.entries(LANGUAGE_NAMES).map(([lang, name]) => h('option', { value: lang, lang, text: name })));
    sel.value = language();
    sel.onchange = () => {
      const lang = matchLanguage(sel.value);
      if (lang) setLanguage(lang);
    };
  }
  onLanguageChange((lang) => { for (const sel of selects) sel.value = lang; });
}
