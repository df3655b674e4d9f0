// Convene web app: DOM helpers shared by the screens — element lookup and creation, icons, toasts,
// screen switching, device pickers and device error messages.

import { t, liveText } from './i18n.js';

/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */

/** @template {HTMLElement} T @param {string} id @returns {T} */
export const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [kids] */
export function h(tag, attrs = {}, kids = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    // The page's CSP refuses inline style attributes: a `style` here would be dropped silently.
    if (k === 'style') throw new Error('h(): set styles through el.style (the CSP refuses style attributes)');
    if (k === 'class') el.className = v; else if (k === 'text') el.textContent = v; else el.setAttribute(k, v);
  }
  for (const k of kids) el.append(k);
  return el;
}

export const ICONS = {
  mic: '<path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11z"/>',
  micOff: '<path d="M19 11h-2c0 .7-.2 1.4-.4 2l1.5 1.5c.6-1 .9-2.2.9-3.5zM15 11.2V5a3 3 0 0 0-5.9-.8zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.3 2.7l1.6 1.6A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 3.4-1.3l3.3 3.3 1.3-1.3z"/>',
  cam: '<path d="M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z"/>',
  camOff: '<path d="M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2zM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.2 0 .4-.1.5-.2l3.2 3.2 1.3-1.3z"/>',
  screen: '<path d="M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2zM13 14.5V12c-3 0-5 1-6.5 3 .6-3 2.3-6 6.5-6.6V7l4 3.7z"/>',
  hand: '<path d="M21 7a1.5 1.5 0 0 0-3 0v5h-1V3.5a1.5 1.5 0 0 0-3 0V11h-1V2.5a1.5 1.5 0 0 0-3 0V11H9V5.5a1.5 1.5 0 0 0-3 0v9.7L3.6 13a1.6 1.6 0 0 0-2.2 2.3L7 21a5 5 0 0 0 3.5 1.5H16a5 5 0 0 0 5-5z"/>',
  grid: '<path d="M3 3h8v8H3zm10 0h8v8h-8zM3 13h8v8H3zm10 0h8v8h-8z"/>',
  speaker: '<path d="M3 3h18v13H3zM3 18h5v3H3zm6.5 0h5v3h-5zm6.5 0h5v3h-5z"/>',
  chat: '<path d="M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z"/>',
  people: '<path d="M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0h-1a4 4 0 0 1 2 3.5V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z"/>',
  gear: '<path d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7 7 0 0 0-1.7-1L15 3h-4l-.4 2.7a7 7 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7 7 0 0 0 1.7 1L11 21h4l.4-2.7a7 7 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z"/>',
  smile: '<path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-3.5 6a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm7 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zM12 18a6 6 0 0 1-5.2-3h10.4A6 6 0 0 1 12 18z"/>',
  shield: '<path d="M12 2 4 5v6c0 5.2 3.4 9.8 8 11 4.6-1.2 8-5.8 8-11V5zm-1 14.2-3.7-3.7 1.4-1.4 2.3 2.3 5.3-5.3 1.4 1.4z"/>',
  lobby: '<path fill-rule="evenodd" d="M4 22V3a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1h3a1 1 0 0 1 1 1v17h2v2H2v-2zm2 0h8V4H6zm10 0h2V6h-2zm-4.5-11a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z"/>',
  leave: '<path d="M12 9c-1.6 0-3.1.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.6 1.8a1 1 0 0 1-1.4 0L.3 13.1a1 1 0 0 1 0-1.4A16.3 16.3 0 0 1 12 7c4.6 0 8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.5 2.4a1 1 0 0 1-1.4 0c-.8-.7-1.6-1.3-2.6-1.8a1 1 0 0 1-.6-.9V9.7C15.1 9.3 13.6 9 12 9z"/>',
};
/** @param {keyof typeof ICONS} name */
export const icon = (name) => `<svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22" fill="currentColor">${ICONS[name]}</svg>`;

/** @param {string} name */
export const initials = (name) => name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';
/** @param {string} s */
export function hue(s) { let x = 0; for (const c of s) x = (x * 31 + c.charCodeAt(0)) % 360; return x; }

let toastTimer = 0;
/**
 * A short message at the bottom of the screen (a polite live region), made in the current language (and
 * again if the language changes while it shows).
 * @param {() => string} text @param {number} [ms]
 */
export function toast(text, ms = 3500) {
  const el = $('toast');
  liveText(el, text);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { el.hidden = true; liveText(el, null); }, ms);
}

/** @param {string} id */
export function show(id) {
  for (const s of ['home', 'auth', 'passwd', 'mine', 'prejoin', 'waiting', 'meeting', 'ended']) $(s).hidden = s !== id;
  // In the meeting the language is chosen in Settings; the corner picker would cover its top bar.
  $('lang-corner').hidden = id === 'meeting';
}

/** @type {Record<'audioinput' | 'videoinput' | 'audiooutput', { numbered: (n: number) => string, none: () => string }>} */
const DEVICE_TEXT = {
  audioinput: { numbered: (n) => t('device.microphone_n', { n }), none: () => t('device.no_microphone') },
  videoinput: { numbered: (n) => t('device.camera_n', { n }), none: () => t('device.no_camera') },
  audiooutput: { numbered: (n) => t('audio.speaker_n', { n }), none: () => t('audio.no_speaker') },
};

/**
 * A device picker: the devices by their labels (numbered when the browser gives none yet).
 * @param {HTMLSelectElement} sel @param {MediaDeviceInfo[]} list @param {string | undefined} current
 * @param {'audioinput' | 'videoinput' | 'audiooutput'} kind
 */
export function fillSelect(sel, list, current, kind) {
  const text = DEVICE_TEXT[kind];
  sel.replaceChildren(...list.map((d, i) => {
    const o = h('option', { value: d.deviceId, text: d.label || text.numbered(i + 1) });
    if (d.deviceId === current) /** @type {HTMLOptionElement} */ (o).selected = true;
    return o;
  }));
  sel.disabled = list.length === 0;
  if (!list.length) sel.replaceChildren(h('option', { text: text.none() }));
}

/** What to say when a device fails, by the device (languages word each one differently). */
const DEVICE_ERRORS = {
  microphone: {
    denied: () => t('device.denied_microphone'), missing: () => t('device.missing_microphone'),
    busy: () => t('device.busy_microphone'), failed: (/** @type {string} */ reason) => t('device.failed_microphone', { reason }),
  },
  camera: {
    denied: () => t('device.denied_camera'), missing: () => t('device.missing_camera'),
    busy: () => t('device.busy_camera'), failed: (/** @type {string} */ reason) => t('device.failed_camera', { reason }),
  },
  screen: {
    denied: () => t('device.denied_screen'), missing: () => t('device.missing_screen'),
    busy: () => t('device.busy_screen'), failed: (/** @type {string} */ reason) => t('device.failed_screen', { reason }),
  },
};

/** @param {MediaAccessError} e */
export function deviceMessage(e) {
  const say = e.source === 'microphone' ? DEVICE_ERRORS.microphone : e.source === 'camera' ? DEVICE_ERRORS.camera : DEVICE_ERRORS.screen;
  if (e.denied) return say.denied();
  if (e.name === 'NotFoundError') return say.missing();
  if (e.name === 'NotReadableError') return say.busy();
  return say.failed(e.message);
}

/** One message for the devices that could not be opened when joining. @param {MediaAccessError[]} errs */
export function joinDevicesMessage(errs) {
  if (errs.length > 1 && errs.every((e) => e.denied)) return t('device.denied_both');
  return errs.map(deviceMessage).join(' ');
}

/**
 * Keyboard in a menu of buttons: arrows move (wrapping), Home and End jump, Escape closes and
 * gives focus back (`close(true)`), Tab closes and lets focus move on (`close(false)`). Escape
 * closes only this menu, not a panel around it.
 * @param {KeyboardEvent} e @param {Element} menu @param {(refocus: boolean) => void} close
 */
export function menuKeys(e, menu, close) {
  const items = /** @type {HTMLElement[]} */ ([...menu.querySelectorAll('button')]);
  const i = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
  const go = (/** @type {number} */ j) => items[(j + items.length) % items.length]?.focus();
  if (e.key === 'ArrowDown' || e.key === 'ArrowRight') go(i + 1);
  else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') go(i - 1);
  else if (e.key === 'Home') go(0);
  else if (e.key === 'End') go(items.length - 1);
  else if (e.key === 'Escape') close(true);
  else if (e.key === 'Tab') { close(false); return; }
  else return;
  e.preventDefault();
  e.stopPropagation();
}
