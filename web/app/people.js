// Convene web app: the people panel (participants, raised hands first; microphone and camera state).
import { $, h, icon, initials, hue } from './dom.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */

/** @param {Convene} c */
export function renderPeople(c) {
  const list = $('people-list');
  const people = [...c.participants.values()].sort((a, b) => Number(b.hand_raised) - Number(a.hand_raised) || a.joined_at - b.joined_at);
  list.replaceChildren(...people.map((p) => {
    const li = h('li', { 'data-participant-id': p.id, 'data-hand': String(p.hand_raised), 'data-mic-muted': String(p.mic_muted) }, [
      h('span', { class: 'avatar small', 'aria-hidden': 'true', text: initials(p.display_name), style: `--hue:${hue(p.id)}` }),
      h('span', { class: 'who' }, [
        h('span', { class: 'name', text: p.id === c.participantId ? `${p.display_name} (you)` : p.display_name }),
        h('span', { class: 'muted role', text: p.role === 'host' ? 'Host' : '' }),
      ]),
      h('span', { class: 'states' }, [
        ...(p.hand_raised ? [h('span', { class: 'hand', 'aria-label': 'Hand raised', title: 'Hand raised' })] : []),
        h('span', { class: `st ${p.mic_muted ? 'off' : ''}`, 'aria-label': p.mic_muted ? 'Microphone muted' : 'Microphone on' }),
        h('span', { class: `st ${p.camera_muted ? 'off' : ''}`, 'aria-label': p.camera_muted ? 'Camera off' : 'Camera on' }),
      ]),
    ]);
    const [mic, cam] = li.querySelectorAll('.st');
    const hand = li.querySelector('.hand');
    if (hand) hand.innerHTML = icon('hand');
    mic.innerHTML = icon(p.mic_muted ? 'micOff' : 'mic');
    cam.innerHTML = icon(p.camera_muted ? 'camOff' : 'cam');
    return li;
  }));
  const hands = people.filter((p) => p.hand_raised).length;
  const tab = $('tab-people');
  tab.innerHTML = `People (${people.length})${hands ? ` <span class="hand" aria-label="${hands} raised">${icon('hand')}${hands}</span>` : ''}`;
}
