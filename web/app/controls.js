// Convene web app: the meeting's control bar (icons, labels, pressed state) and keyboard shortcuts.
import { $, icon } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** @param {MeetingUI} ui */
export function paintControls(ui) {
  const c = ui.c;
  /** @param {string} id @param {boolean} on @param {keyof typeof import('./dom.js').ICONS} ic @param {string} label @param {boolean} [offStyle] */
  const set = (id, on, ic, label, offStyle) => {
    const b = $(id);
    const badge = b.querySelector('.badge');
    b.innerHTML = icon(ic);
    if (badge) b.append(badge);
    b.setAttribute('aria-label', label);
    b.title = label;
    if (b.hasAttribute('aria-pressed')) b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('off', !!offStyle);
    b.classList.toggle('active', on && !offStyle && !['c-mic', 'c-cam'].includes(id));
  };
  const speakerView = ui.grid.speakerView;
  const n = ui.unread;
  set('c-mic', !c.muted.mic, c.muted.mic ? 'micOff' : 'mic', c.muted.mic ? t('controls.unmute') : t('controls.mute'), c.muted.mic);
  set('c-cam', !c.muted.camera, c.muted.camera ? 'camOff' : 'cam', c.muted.camera ? t('controls.cam_on') : t('controls.cam_off'), c.muted.camera);
  set('c-screen', !!c.localTracks.screen, 'screen', c.localTracks.screen ? t('controls.stop_share') : t('controls.share'));
  set('c-hand', !!c.me?.hand_raised, 'hand', c.me?.hand_raised ? t('controls.lower') : t('controls.raise'));
  set('c-layout', speakerView, speakerView ? 'grid' : 'speaker', speakerView ? t('controls.grid') : t('controls.speaker'));
  set('c-chat', ui.panel === 'chat', 'chat', n ? t('controls.chat_unread', { n }) : t('controls.chat'));
  set('c-people', ui.panel === 'people', 'people', t('controls.people'));
  set('c-settings', false, 'gear', t('controls.settings'));
  set('c-leave', false, 'leave', t('controls.leave'));
  if (!navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices)) $('c-screen').hidden = true;
}

/**
 * Single-key shortcuts (not while typing): m mic, v camera, h hand, s layout, c chat, p people, Esc closes.
 * @param {MeetingUI} ui
 */
export function bindShortcuts(ui) {
  ui.listen(document, 'keydown', (e) => {
    const ev = /** @type {KeyboardEvent} */ (e);
    const target = /** @type {HTMLElement} */ (ev.target);
    if (ev.ctrlKey || ev.metaKey || ev.altKey || target.matches('input, textarea, select, [contenteditable]')) return;
    const k = ev.key.toLowerCase();
    if (k === 'm') ui.toggleMic();
    else if (k === 'v') ui.toggleCam();
    else if (k === 'h') ui.c.setHandRaised(!ui.c.me?.hand_raised);
    else if (k === 's') $('c-layout').click();
    else if (k === 'c') $('c-chat').click();
    else if (k === 'p') $('c-people').click();
    else if (k === 'escape') { ui.openPanel(null); $('settings').hidden = true; $('c-settings').setAttribute('aria-expanded', 'false'); }
    else return;
    ev.preventDefault();
  });
}
