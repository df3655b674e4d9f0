// Convene web app: the people panel (participants, raised hands first; microphone and camera state).
import { $, h, icon, initials, hue } from './dom.js';
import { t, plural } from './i18n.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */

/** @typedef {import('/sdk/convene.js').Participant} Participant */

/** The role as the list names it (a participant's goes unsaid). @param {Participant} p */
function roleText(p) {
  if (p.role === 'host') return t('people.host');
  if (p.role === 'co_host') return t('people.co_host');
  if (p.role === 'viewer') return t('people.viewer');
  return '';
}

/**
 * @param {Convene} c
 * @param {(p: Participant) => Node[]} [extras] more at the end of a person's row (the host's menu button)
 */
export function renderPeople(c, extras) {
  const list = $('people-list');
  const people = [...c.participants.values()].sort((a, b) => Number(b.hand_raised) - Number(a.hand_raised) || a.joined_at - b.joined_at);
  list.replaceChildren(...people.map((p) => {
    const li = h('li', { 'data-participant-id': p.id, 'data-hand': String(p.hand_raised), 'data-mic-muted': String(p.mic_muted) }, [
      avatar(p),
      h('span', { class: 'who' }, [
        h('span', { class: 'name', text: p.id === c.participantId ? t('people.you', { name: p.display_name }) : p.display_name }),
        h('span', { class: 'muted role', text: roleText(p) }),
      ]),
      h('span', { class: 'states' }, [
        ...(p.hand_raised ? [h('span', { class: 'hand', 'aria-label': t('state.hand_raised'), title: t('state.hand_raised') })] : []),
        h('span', { class: `st ${p.mic_muted ? 'off' : ''}`, 'aria-label': p.mic_muted ? t('state.mic_muted') : t('state.mic_on') }),
        h('span', { class: `st ${p.camera_muted ? 'off' : ''}`, 'aria-label': p.camera_muted ? t('state.cam_off') : t('state.cam_on') }),
      ]),
      ...(extras ? extras(p) : []),
    ]);
    li.dataset.role = p.role;
    const [mic, cam] = li.querySelectorAll('.st');
    const hand = li.querySelector('.hand');
    if (hand) hand.innerHTML = icon('hand');
    mic.innerHTML = icon(p.mic_muted ? 'micOff' : 'mic');
    cam.innerHTML = icon(p.camera_muted ? 'camOff' : 'cam');
    return li;
  }));
  const hands = people.filter((p) => p.hand_raised).length;
  const tab = $('tab-people');
  const n = people.length;
  if (!hands) { tab.replaceChildren(t('meeting.people_tab', { n })); return; }
  const label = plural(hands, { one: () => t('meeting.hands_one', { n: hands }), other: () => t('meeting.hands_other', { n: hands }) });
  const badge = h('span', { class: 'hand', 'aria-label': label });
  badge.innerHTML = `${icon('hand')}${hands}`;
  tab.replaceChildren(t('meeting.people_tab', { n }), ' ', badge);
}

/** The person's initials on their colour. Set through the CSSOM: the page's CSP refuses inline style
 * attributes. @param {{ id: string, display_name: string }} p */
function avatar(p) {
  const a = h('span', { class: 'avatar small', 'aria-hidden': 'true', text: initials(p.display_name) });
  a.style.setProperty('--hue', String(hue(p.id)));
  return a;
}
