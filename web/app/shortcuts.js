// Convene web app: the meeting's keyboard shortcuts. One table feeds both the key handler and the help
// dialog (`?`), so the dialog lists exactly the keys that work.
import { $, h } from './dom.js';
import { t, onLanguageChange } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/**
 * @typedef {object} Shortcut
 * @property {string} key      `KeyboardEvent.key`, lower case
 * @property {() => string} cap how the key is written in the help
 * @property {() => string} label what it does
 * @property {(ui: MeetingUI) => void} run
 */

/** @param {string} id */
const click = (id) => () => { $(id).click(); };

/** @type {Shortcut[]} */
export const SHORTCUTS = [
  { key: 'm', cap: () => 'M', label: () => t('shortcuts.mic'), run: (ui) => { ui.toggleMic(); } },
  { key: 'v', cap: () => 'V', label: () => t('shortcuts.camera'), run: (ui) => { ui.toggleCam(); } },
  { key: 'h', cap: () => 'H', label: () => t('shortcuts.hand'), run: (ui) => ui.c.setHandRaised(!ui.c.me?.hand_raised) },
  { key: 's', cap: () => 'S', label: () => t('shortcuts.layout'), run: click('c-layout') },
  { key: 'c', cap: () => 'C', label: () => t('shortcuts.chat'), run: click('c-chat') },
  { key: 'p', cap: () => 'P', label: () => t('shortcuts.people'), run: click('c-people') },
  { key: 'r', cap: () => 'R', label: () => t('shortcuts.reactions'), run: click('c-react') },
  { key: '?', cap: () => '?', label: () => t('shortcuts.help'), run: () => toggleHelp() },
  { key: 'escape', cap: () => t('shortcuts.keyEsc'), label: () => t('shortcuts.escape'), run: (ui) => closeOverlays(ui) },
];

/** Closes the side panel, the settings and the reactions list (Escape). @param {MeetingUI} ui */
export function closeOverlays(ui) {
  ui.openPanel(null);
  $('settings').hidden = true;
  $('c-settings').setAttribute('aria-expanded', 'false');
  ui.reactions.close(false);
  ui.mod.lobby.close(false);
}

/**
 * Single-key shortcuts, not while typing nor with Ctrl/Alt/Meta (the browser's own). While the help
 * dialog is open only `?` acts (Escape closes it natively).
 * @param {MeetingUI} ui
 */
export function bindShortcuts(ui) {
  ui.listen(document, 'keydown', (e) => {
    const ev = /** @type {KeyboardEvent} */ (e);
    const target = /** @type {HTMLElement} */ (ev.target);
    if (ev.ctrlKey || ev.metaKey || ev.altKey || target.matches('input, textarea, select, [contenteditable]')) return;
    const k = ev.key.toLowerCase();
    const dialog = /** @type {HTMLDialogElement} */ ($('shortcuts'));
    if (dialog.open && k !== '?') return;
    if (/** @type {HTMLDialogElement} */ ($('confirm')).open) return; // a question waits for its answer
    const s = SHORTCUTS.find((x) => x.key === k);
    if (!s) return;
    s.run(ui);
    ev.preventDefault();
  });
  ui.listen($('c-shortcuts'), 'click', () => toggleHelp());
  ui.listen($('shortcuts-close'), 'click', () => /** @type {HTMLDialogElement} */ ($('shortcuts')).close());
  ui.cleanup.push(onLanguageChange(() => { if (/** @type {HTMLDialogElement} */ ($('shortcuts')).open) renderHelp(); }));
  ui.cleanup.push(() => { const d = /** @type {HTMLDialogElement} */ ($('shortcuts')); if (d.open) d.close(); });
}

function toggleHelp() {
  const d = /** @type {HTMLDialogElement} */ ($('shortcuts'));
  if (d.open) { d.close(); return; }
  renderHelp();
  d.showModal();
}

function renderHelp() {
  const rows = SHORTCUTS.map((s) => h('div', { class: 'shortcut', 'data-key': s.key }, [
    h('dt', {}, [h('kbd', { text: s.cap() })]),
    h('dd', { text: s.label() }),
  ]));
  $('shortcuts-list').replaceChildren(...rows);
}
