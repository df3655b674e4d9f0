// Convene web app: the meeting's control bar (icons, labels, pressed state); its keys are in shortcuts.js.
import { hostMuted } from '/sdk/convene.js';
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
  // What a host muted says so on its button (pressing it explains how to ask to unmute).
  const micHeld = hostMuted(c, 'microphone');
  const camHeld = hostMuted(c, 'camera');
  const screenHeld = hostMuted(c, 'screen');
  set('c-mic', !c.muted.mic, c.muted.mic ? 'micOff' : 'mic', micHeld ? t('hostmute.mic_button') : c.muted.mic ? t('controls.unmute') : t('controls.mute'), c.muted.mic);
  set('c-cam', !c.muted.camera, c.muted.camera ? 'camOff' : 'cam', camHeld ? t('hostmute.cam_button') : c.muted.camera ? t('controls.cam_on') : t('controls.cam_off'), c.muted.camera);
  set('c-screen', !!c.localTracks.screen, 'screen', screenHeld ? t('hostmute.screen_button') : c.localTracks.screen ? t('controls.stop_share') : t('controls.share'));
  $('c-mic').classList.toggle('host-muted', micHeld);
  $('c-cam').classList.toggle('host-muted', camHeld);
  $('c-screen').classList.toggle('host-muted', screenHeld);
  const w = c.waiting.length;
  set('c-lobby', !$('lobby-panel').hidden, 'lobby', w ? t('lobby.button_count', { n: w }) : t('lobby.button'));
  set('c-host', !$('host-menu').hidden, 'shield', t('host.menu'));
  set('c-hand', !!c.me?.hand_raised, 'hand', c.me?.hand_raised ? t('controls.lower') : t('controls.raise'));
  set('c-react', !$('reactions').hidden, 'smile', t('reaction.button'));
  set('c-layout', speakerView, speakerView ? 'grid' : 'speaker', speakerView ? t('controls.grid') : t('controls.speaker'));
  set('c-chat', ui.panel === 'chat', 'chat', n ? t('controls.chat_unread', { n }) : t('controls.chat'));
  set('c-people', ui.panel === 'people', 'people', t('controls.people'));
  set('c-settings', false, 'gear', t('controls.settings'));
  set('c-leave', false, 'leave', t('controls.leave'));
  // A viewer publishes nothing: no buttons that would.
  const viewer = c.me?.role === 'viewer';
  $('c-mic').hidden = viewer;
  $('c-cam').hidden = viewer;
  $('c-screen').hidden = viewer || !navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices);
}
