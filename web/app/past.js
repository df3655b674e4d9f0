// Convene web app: "My meetings", the records part — the meetings the account attended or whose room it
// planned, newest first; on demand, who attended one (from its detail), its chat transcript and, for the
// rooms it planned, the log of what hosts did (audit.js).
import { $, h } from './dom.js';
import { api } from './api.js';
import { roomPath } from './home.js';
import { when } from './plan.js';
import { t, formatTime, onLanguageChange } from './i18n.js';
import { reasonOf } from './errors.js';
import { auditView } from './audit.js';

/**
 * @typedef {{ id: string, room: string, started_at: number | null, ended_at: number | null, created_at: number }} Meeting
 * @typedef {{ display_name: string, joined_at: number, left_at: number | null }} Session
 * @typedef {{ seq: number, from_name: string, text: string, sent_at: number }} Chat
 */

/** Pages of one meeting's record fetched at most, so a huge record cannot stall the page. */
const MAX_PAGES = 20;

/** The items' painters (remade on every load), run again after a language switch. @type {(() => void)[]} */
let painters = [];
onLanguageChange(() => { for (const paint of painters) paint(); });

/**
 * Loads and shows the meetings.
 * @param {Map<string, string>} titles the titles ('' for none) of the account's planned rooms
 * @param {boolean} [admin] an administrator reads every meeting's moderation log
 */
export async function loadPast(titles, admin = false) {
  const { meetings } = /** @type {{ meetings: Meeting[] }} */ (await api('GET', '/api/v1/meetings'));
  painters = [];
  $('past-empty').hidden = meetings.length > 0;
  $('past-list').replaceChildren(...meetings.map((m) => pastItem(m, titles.get(m.room), admin || titles.has(m.room))));
}

/** One meeting's sessions and chat, every page (up to MAX_PAGES). @param {string} id its public id */
async function detail(id) {
  /** @type {Session[]} */ const sessions = [];
  /** @type {Chat[]} */ const chat = [];
  // A list read to its end is asked from past its last possible key, so later pages bring only the other.
  const END = Number.MAX_SAFE_INTEGER;
  let sAfter = 0;
  let cAfter = 0;
  for (let i = 0; i < MAX_PAGES && (sAfter !== END || cAfter !== END); i++) {
    const d = await api('GET', `/api/v1/meetings/${encodeURIComponent(id)}?sessions_limit=1000&chat_limit=1000&sessions_after=${sAfter}&chat_after=${cAfter}`);
    sessions.push(...d.sessions);
    chat.push(...d.chat);
    sAfter = d.next?.sessions_after ?? END;
    cAfter = d.next?.chat_after ?? END;
  }
  return { sessions, chat };
}

/** @param {Meeting} m @param {string} [title] @param {boolean} [owned] its moderation log is the account's to read */
function pastItem(m, title, owned = false) {
  const start = m.started_at || m.created_at;
  const span = h('span', { class: 'muted' });
  const people = h('p', { class: 'attended muted' });
  const transcript = h('ol', { class: 'transcript' });
  transcript.hidden = true;
  const more = h('button', { class: 'btn small', type: 'button' });
  const chatBtn = h('button', { class: 'btn small', type: 'button' });
  const open = h('a', { class: 'btn small', href: roomPath(m.room) });
  /** What the record says once loaded (null: not asked yet, or failed). @type {{ sessions: Session[], chat: Chat[] } | null} */
  let shown = null;
  /** Why loading failed, if it did. @type {unknown} */
  let failure = null;
  /** Whether "Who attended" was asked (the names show from then on). */
  let whoAsked = false;
  // Every text of the item from its state, so that a language switch remakes it as it stands.
  const paint = () => {
    span.textContent = m.ended_at ? t('past.span', { start: when(start), end: formatTime(m.ended_at) }) : t('past.not_ended', { start: when(start) });
    more.textContent = t('past.who');
    chatBtn.textContent = transcript.hidden ? t('past.show_chat') : t('past.hide_chat');
    open.textContent = t('past.open');
    if (failure) people.textContent = t('past.load_failed', { reason: reasonOf(failure) });
    else if (shown && whoAsked) {
      const names = [...new Set(shown.sessions.map((s) => s.display_name))];
      people.textContent = names.length ? t('past.attended', { names: names.join(t('common.separator')) }) : t('past.nobody');
    }
    if (shown && !transcript.hidden) {
      const chat = shown.chat;
      transcript.replaceChildren(...(chat.length ? chat.map((c) => h('li', {}, [
        h('span', { class: 'muted', text: t('past.chat_from', { time: formatTime(c.sent_at), name: c.from_name }) }),
        h('span', { class: 'text', text: c.text }),
      ])) : [h('li', { class: 'muted', text: t('past.no_chat') })]));
    }
  };
  /** @type {Promise<{ sessions: Session[], chat: Chat[] }> | null} */
  let loaded = null;
  const load = () => (loaded ??= detail(m.id).catch((e) => { loaded = null; throw e; }));
  const fail = (/** @type {unknown} */ e) => { failure = e; paint(); };
  more.onclick = () => load().then((d) => { shown = d; failure = null; whoAsked = true; paint(); }, fail);
  chatBtn.onclick = () => {
    if (!transcript.hidden) { transcript.hidden = true; paint(); return; }
    load().then((d) => { shown = d; failure = null; transcript.hidden = false; paint(); }, fail);
  };
  const audit = owned ? auditView(m.id) : null;
  paint();
  painters.push(paint);
  if (audit) painters.push(audit.paint);
  return h('li', { class: 'item past', 'data-meeting': String(m.id) }, [
    h('strong', { class: 'item-title', text: title ? `${title} (${m.room})` : m.room }),
    span,
    h('span', { class: 'row left' }, [more, chatBtn, ...(audit ? [audit.button] : []), open]),
    people,
    transcript,
    ...(audit ? [audit.list] : []),
  ]);
}
