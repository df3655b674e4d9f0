// Convene web app: the chat panel's message list.
import { $, h } from './dom.js';
import { t, formatTime } from './i18n.js';
import { appendFile } from './files.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */
/** @typedef {import('/sdk/convene.js').ChatMessage} ChatMessage */

/** Redraw the list from the client's history: messages and shared files, in the order they came. @param {Convene} c */
export function renderChat(c) {
  $('chat-list').replaceChildren();
  const items = [
    ...c.chat.map((m) => ({ at: m.sent_at, show: () => appendChat(c, m) })),
    ...c.files.map((f) => ({ at: f.shared_at, show: () => appendFile(c, f) })),
  ].sort((a, b) => a.at - b.at);
  for (const item of items) item.show();
}

/** Add one message (once: a message already shown is skipped). @param {Convene} c @param {ChatMessage} m */
export function appendChat(c, m) {
  const list = $('chat-list');
  if (list.querySelector(`[data-seq="${m.seq}"]`)) return;
  const own = m.from === c.participantId;
  const time = formatTime(m.sent_at);
  const li = h('li', { class: own ? 'own' : '', 'data-seq': String(m.seq) }, [
    h('div', { class: 'meta' }, [h('strong', { text: own ? t('chat.you') : m.from_name }), h('time', { text: time, datetime: new Date(m.sent_at).toISOString() })]),
    h('div', { class: 'text' }, linkify(m.text)),
  ]);
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom || own) list.scrollTop = list.scrollHeight;
}

/** An http(s) URL in running text; trailing punctuation that usually ends a sentence is trimmed below. */
const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;

/**
 * Chat text as DOM nodes: text stays text, http: and https: URLs become links that open in a new tab
 * without handing it this page (noopener noreferrer). Built with DOM APIs, never markup, so nothing in a
 * message can add elements or script; `javascript:` and other schemes are never links.
 * @param {string} text @returns {(Node|string)[]}
 */
export function linkify(text) {
  /** @type {(Node|string)[]} */
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    // "see https://x.org/a." or "(https://x.org/a)": the final punctuation belongs to the sentence.
    while (/[.,;:!?'’)\]}]$/.test(url) && !(url.endsWith(')') && url.includes('('))) url = url.slice(0, -1);
    const start = /** @type {number} */ (match.index);
    const href = safeHref(url);
    if (!href) continue;
    if (start > last) out.push(text.slice(last, start));
    out.push(h('a', { href, text: url, target: '_blank', rel: 'noopener noreferrer' }));
    last = start + url.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** The URL if it parses as http: or https:, else null. @param {string} url */
function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}
