// Convene web app: the meeting's control bar (icons, labels, pressed state) and keyboard shortcuts.
import { $, icon } from './dom.js';

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
    if (b.hasAttribute('aria-pressed')) b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('off', !!offStyle);
    b.classList.toggle('active', on && !offStyle && !['c-mic', 'c-cam'].includes(id));
  };
  const speakerView = ui.grid.speakerView;
  set('c-mic', !c.muted.mic, c.muted.mic ? 'micOff' : 'mic', c.muted.mic ? 'Unmute microphone (m)' : 'Mute microphone (m)', c.muted.mic);
  set('c-cam', !c.muted.camera, c.muted.camera ? 'camOff' : 'cam', c.muted.camera ? 'Turn camera on (v)' : 'Turn camera off (v)', c.muted.camera);
  set('c-screen', !!c.localTracks.screen, 'screen', c.localTracks.screen ? 'Stop sharing screen' : 'Share screen');
  set('c-hand', !!c.me?.hand_raised, 'hand', c.me?.hand_raised ? 'Lower hand (h)' : 'Raise hand (h)');
  set('c-layout', speakerView, speakerView ? 'grid' : 'speaker', speakerView ? 'Grid view (s)' : 'Speaker view (s)');
  set('c-chat', ui.panel === 'chat', 'chat', ui.unread ? `Chat, ${ui.unread} unread (c)` : 'Chat (c)');
  set('c-people', ui.panel === 'people', 'people', 'Participants (p)');
  set('c-settings', false, 'gear', 'Device settings');
  set('c-leave', false, 'leave', 'Leave meeting');
  if (!navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices)) $('c-screen').hidden = true;
}

/**
 * Single-key shortcuts (not while typing): m mic, v camera, h hand, s layout, c chat, p people, Esc closes.
 * @param {MeetingUI} ui
 */
export function bindShortcuts(ui) {
  ui.listen(document, 'keydown', (e) => {
    const ev = /** @type {KeyboardEvent} */ (e);
    const t = /** @type {HTMLElement} */ (ev.target);
    if (ev.ctrlKey || ev.metaKey || ev.altKey || t.matches('input, textarea, select, [contenteditable]')) return;
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
