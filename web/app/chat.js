// Convene web app: the chat panel's message list.
import { $, h } from './dom.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */
/** @typedef {import('/sdk/convene.js').ChatMessage} ChatMessage */

/** Redraw the list from the client's history. @param {Convene} c */
export function renderChat(c) {
  $('chat-list').replaceChildren();
  for (const m of c.chat) appendChat(c, m);
}

/** Add one message (once: a message already shown is skipped). @param {Convene} c @param {ChatMessage} m */
export function appendChat(c, m) {
  const list = $('chat-list');
  if (list.querySelector(`[data-seq="${m.seq}"]`)) return;
  const own = m.from === c.participantId;
  const time = new Date(m.sent_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const li = h('li', { class: own ? 'own' : '', 'data-seq': String(m.seq) }, [
    h('div', { class: 'meta' }, [h('strong', { text: own ? 'You' : m.from_name }), h('time', { text: time, datetime: new Date(m.sent_at).toISOString() })]),
    h('div', { class: 'text', text: m.text }),
  ]);
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom || own) list.scrollTop = list.scrollHeight;
}
