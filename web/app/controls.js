// Convene web app: the meeting's control bar (icons, labels, pressed state); its keys are in shortcuts.js.
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
    if (b.hasAttribute('aria-pressed')) b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('off', !!offStyle);
    b.classList.toggle('active', on && !offStyle && !['c-mic', 'c-cam'].includes(id));
  };
  const speakerView = ui.grid.speakerView;
  set('c-mic', !c.muted.mic, c.muted.mic ? 'micOff' : 'mic', c.muted.mic ? 'Unmute microphone (m)' : 'Mute microphone (m)', c.muted.mic);
  set('c-cam', !c.muted.camera, c.muted.camera ? 'camOff' : 'cam', c.muted.camera ? 'Turn camera on (v)' : 'Turn camera off (v)', c.muted.camera);
  set('c-screen', !!c.localTracks.screen, 'screen', c.localTracks.screen ? 'Stop sharing screen' : 'Share screen');
  set('c-hand', !!c.me?.hand_raised, 'hand', c.me?.hand_raised ? 'Lower hand (h)' : 'Raise hand (h)');
  set('c-react', !$('reactions').hidden, 'smile', t('reaction.button'));
  set('c-layout', speakerView, speakerView ? 'grid' : 'speaker', speakerView ? 'Grid view (s)' : 'Speaker view (s)');
  set('c-chat', ui.panel === 'chat', 'chat', ui.unread ? `Chat, ${ui.unread} unread (c)` : 'Chat (c)');
  set('c-people', ui.panel === 'people', 'people', 'Participants (p)');
  set('c-settings', false, 'gear', 'Device settings');
  set('c-leave', false, 'leave', 'Leave meeting');
  if (!navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices)) $('c-screen').hidden = true;
}
