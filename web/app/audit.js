// Convene web app: a past meeting's moderation log — who muted, removed, admitted, ... whom and when
// (GET /api/v1/meetings/{id}/audit), shown to the meeting's owner (and administrators) on demand.
import { h } from './dom.js';
import { api } from './api.js';
import { t, formatTime } from './i18n.js';
import { reasonOf } from './errors.js';

/**
 * @typedef {{ at: number, actor_kind: 'participant' | 'user' | 'api_key' | 'system', actor_name: string | null,
 *   action: string, target_name: string | null, detail: string | null }} AuditEntry
 */

/** What each action is called in the log. @type {Record<string, () => string>} */
const ACTIONS = {
  mute: () => t('audit.mute'),
  mute_all: () => t('audit.mute_all'),
  allow_unmute: () => t('audit.allow_unmute'),
  remove: () => t('audit.remove'),
  end: () => t('audit.end'),
  set_role: () => t('audit.set_role'),
  transfer_host: () => t('audit.transfer_host'),
  lower_hand: () => t('audit.lower_hand'),
  lock: () => t('audit.lock'),
  unlock: () => t('audit.unlock'),
  lobby_on: () => t('audit.lobby_on'),
  lobby_off: () => t('audit.lobby_off'),
  admit: () => t('audit.admit'),
  deny: () => t('audit.deny'),
};

/** Who acted: their name, else what kind of caller (the REST API, the server). @param {AuditEntry} e */
function actor(e) {
  if (e.actor_name) return e.actor_name;
  if (e.actor_kind === 'api_key') return t('audit.by_api');
  if (e.actor_kind === 'system') return t('audit.by_server');
  return t('audit.by_unknown');
}

/** One line of the log, in the current language. @param {AuditEntry} e */
export function auditLine(e) {
  const action = Object.hasOwn(ACTIONS, e.action) ? ACTIONS[e.action]() : e.action;
  const vars = { time: formatTime(e.at), actor: actor(e), action };
  const line = e.target_name ? t('audit.line_target', { ...vars, target: e.target_name }) : t('audit.line', vars);
  return e.detail ? `${line} (${e.detail})` : line;
}

/**
 * The "Moderation log" button of one past meeting and the list it opens; `paint` remakes the texts (after a
 * language switch).
 * @param {string} meetingId its public id
 */
export function auditView(meetingId) {
  const button = h('button', { class: 'btn small', type: 'button', 'data-action': 'audit' });
  const list = h('ol', { class: 'audit' });
  list.hidden = true;
  /** @type {AuditEntry[] | null} */
  let entries = null;
  /** @type {unknown} */
  let failure = null;
  const paint = () => {
    button.textContent = list.hidden ? t('audit.show') : t('audit.hide');
    if (list.hidden) return;
    if (failure) list.replaceChildren(h('li', { class: 'error', text: t('past.load_failed', { reason: reasonOf(failure) }) }));
    else if (entries) list.replaceChildren(...(entries.length ? entries.map((e) => h('li', { text: auditLine(e) })) : [h('li', { class: 'muted', text: t('audit.none') })]));
  };
  button.onclick = async () => {
    if (!list.hidden) { list.hidden = true; paint(); return; }
    try {
      const d = /** @type {{ entries: AuditEntry[] }} */ (await api('GET', `/api/v1/meetings/${encodeURIComponent(meetingId)}/audit`));
      entries = d.entries;
      failure = null;
    } catch (e) {
      failure = e;
    }
    list.hidden = false;
    paint();
  };
  paint();
  return { button, list, paint };
}
