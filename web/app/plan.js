// Convene web app: "My meetings", the planning part — a form that plans a meeting (or edits a planned one:
// access, invited emails, password, title, start, size, lobby, co-hosts, how long it lasts empty) and the
// list of planned meetings with their links.
import { $, h, toast } from './dom.js';
import { api, ApiError } from './api.js';
import { roomPath } from './home.js';
import { t, liveText, onLanguageChange, formatDateTime } from './i18n.js';
import { reasonOf } from './errors.js';

/**
 * A planned room as the server describes it.
 * @typedef {{ unique_name: string, title: string, access: 'link' | 'accounts' | 'invited', has_password: boolean,
 *   max_participants: number | null, starts_at: number | null, invited: string[], lobby?: boolean,
 *   co_hosts?: string[], empty_room_timeout?: number | null, record_on_connect?: boolean }} PlannedRoom
 */

/** The longest empty-room timeout a planned meeting may have, in minutes (a day; the server's bound). */
const TIMEOUT_MAX = 1440;

/** Who may enter a planned meeting, as its list item says. @type {Record<string, () => string>} */
const ACCESS_TEXT = { link: () => t('plan.fact_link'), accounts: () => t('plan.fact_accounts'), invited: () => t('plan.fact_invited_only') };

/** A value of the form the app refuses before sending it; its text is remade after a language switch. */
class FormError extends Error {
  /** @param {() => string} text */
  constructor(text) {
    super(text());
    this.text = text;
  }
}

/** The full link of a meeting. @param {string} name */
export const meetingLink = (name) => `${location.origin}${roomPath(name)}`;

/** A time for people: the current language, the browser's zone. @param {number} ms */
export const when = (ms) => formatDateTime(ms);

/** `datetime-local` value of an epoch time, in the browser's zone. @param {number} ms */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id));

/** The room being edited (null: the form plans a new one). @type {PlannedRoom | null} */
let editing = null;

/** Fills the form for `room` (or empties it for a new meeting). @param {PlannedRoom | null} room */
function fillForm(room) {
  editing = room;
  input('p-title').value = room?.title || '';
  /** @type {HTMLSelectElement} */ ($('p-access')).value = room?.access || 'link';
  /** @type {HTMLTextAreaElement} */ ($('p-invited')).value = (room?.invited || []).join('\n');
  input('p-password').value = '';
  input('p-nopw').checked = false;
  $('p-nopw-row').hidden = !room?.has_password;
  liveText($('p-password-label'), room?.has_password ? () => t('plan.new_password') : () => t('plan.password'));
  input('p-starts').value = room?.starts_at ? localInput(room.starts_at) : '';
  input('p-max').value = room?.max_participants ? String(room.max_participants) : '';
  input('p-lobby').checked = !!room?.lobby;
  input('p-record').checked = !!room?.record_on_connect;
  /** @type {HTMLTextAreaElement} */ ($('p-cohosts')).value = (room?.co_hosts || []).join('\n');
  input('p-timeout').value = room?.empty_room_timeout ? String(room.empty_room_timeout) : '';
  const name = room ? room.title || room.unique_name : '';
  liveText($('plan-submit'), room ? () => t('plan.save', { name }) : () => t('plan.submit'));
  $('plan-cancel').hidden = !room;
  $('plan-error').hidden = true;
  showInvited();
}

function showInvited() {
  $('p-invited-row').hidden = /** @type {HTMLSelectElement} */ ($('p-access')).value !== 'invited';
}

/** What the form says, as the API's fields; throws a message when a value cannot be sent. */
function formBody() {
  const access = /** @type {HTMLSelectElement} */ ($('p-access')).value;
  const invited = emails('p-invited');
  /** @type {Record<string, unknown>} */
  const body = { title: input('p-title').value.trim(), access, invited, lobby: input('p-lobby').checked, co_hosts: emails('p-cohosts') };
  // Sent when it says something: a server without recording refuses a field it does not know.
  if (input('p-record').checked || editing?.record_on_connect !== undefined) body.record_on_connect = input('p-record').checked;
  const pw = input('p-password').value;
  if (input('p-nopw').checked && editing) body.password = null;
  else if (pw) body.password = pw;
  const starts = input('p-starts').value;
  const startsAt = starts ? new Date(starts).getTime() : null;
  if (starts && !Number.isFinite(startsAt)) throw new FormError(() => t('plan.bad_start'));
  const maxText = input('p-max').value.trim();
  const max = maxText ? Number(maxText) : null;
  if (max !== null && !(Number.isInteger(max) && max > 0)) throw new FormError(() => t('plan.bad_max'));
  // A new meeting leaves out what is empty; an edit sends null, which clears it.
  if (startsAt !== null || editing) body.starts_at = startsAt;
  if (max !== null || editing) body.max_participants = max;
  const timeoutText = input('p-timeout').value.trim();
  const timeout = timeoutText ? Number(timeoutText) : null;
  if (timeout !== null && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= TIMEOUT_MAX)) {
    throw new FormError(() => t('plan.bad_timeout', { max: TIMEOUT_MAX }));
  }
  // Empty: the server's default (an edit sends null, which goes back to it).
  if (timeout !== null || editing) body.empty_room_timeout = timeout;
  return body;
}

/** The emails of a list field (one a line, or separated by commas). @param {string} id */
function emails(id) {
  return /** @type {HTMLTextAreaElement} */ ($(id)).value.split(/[\s,;]+/).filter(Boolean);
}

/** Shows the link of a meeting just planned or saved, ready to copy. @param {string} name */
function showLink(name) {
  $('plan-result').hidden = false;
  input('plan-link').value = meetingLink(name);
}

/** The form and the planned list. @param {() => void} changed called after a meeting is planned or saved */
export function initPlan(changed) {
  fillForm(null);
  $('p-access').onchange = showInvited;
  $('plan-cancel').onclick = () => fillForm(null);
  $('plan-copy').onclick = async () => {
    input('plan-link').select();
    try { await navigator.clipboard.writeText(input('plan-link').value); toast(() => t('plan.copied')); } catch { toast(() => t('plan.copy_failed')); }
  };
  $('plan-form').onsubmit = async (e) => {
    e.preventDefault();
    const err = $('plan-error');
    err.hidden = true;
    const submit = /** @type {HTMLButtonElement} */ ($('plan-submit'));
    try {
      const body = formBody();
      submit.disabled = true;
      const room = /** @type {PlannedRoom} */ (editing
        ? await api('PATCH', `/api/v1/rooms/${encodeURIComponent(editing.unique_name)}`, body)
        : await api('POST', '/api/v1/rooms', body));
      showLink(room.unique_name);
      toast(editing ? () => t('plan.saved') : () => t('plan.planned'));
      fillForm(null);
      changed();
    } catch (x) {
      liveText(err, x instanceof FormError ? x.text : () => refusal(x));
      err.hidden = false;
    } finally {
      submit.disabled = false;
    }
  };
  onLanguageChange(() => $('planned-list').replaceChildren(...planned.map(plannedItem)));
}

/** Why the server refused the form: its own checks of the values say "invalid_message". @param {unknown} x */
function refusal(x) {
  return x instanceof ApiError && x.code === 'invalid_message' ? t('plan.invalid') : reasonOf(x);
}

/** The planned meetings last shown (the list is remade from them after a language switch). @type {PlannedRoom[]} */
let planned = [];

/** Loads and shows the planned meetings; their titles ('' for none) by room name. @returns {Promise<Map<string, string>>} */
export async function loadPlanned() {
  const { rooms } = /** @type {{ rooms: PlannedRoom[] }} */ (await api('GET', '/api/v1/rooms'));
  planned = rooms;
  $('planned-empty').hidden = rooms.length > 0;
  $('planned-list').replaceChildren(...rooms.map(plannedItem));
  // Every planned room (its title, or ''): the records of these rooms' meetings are the account's own.
  return new Map(rooms.map((r) => [r.unique_name, r.title || '']));
}

/** @param {PlannedRoom} r */
function plannedItem(r) {
  const access = Object.hasOwn(ACCESS_TEXT, r.access) ? ACCESS_TEXT[r.access]() : r.access;
  const facts = [t('plan.fact_access', { access })];
  if (r.access === 'invited') facts.push(r.invited.length ? t('plan.fact_invited', { emails: r.invited.join(', ') }) : t('plan.fact_nobody'));
  facts.push(r.has_password ? t('plan.fact_password') : t('plan.fact_no_password'));
  if (r.starts_at) facts.push(t('plan.fact_starts', { when: when(r.starts_at) }));
  if (r.max_participants) facts.push(t('plan.fact_max', { n: r.max_participants }));
  if (r.lobby) facts.push(t('plan.fact_lobby'));
  if (r.record_on_connect) facts.push(t('plan.fact_record'));
  if (r.co_hosts?.length) facts.push(t('plan.fact_co_hosts', { emails: r.co_hosts.join(', ') }));
  if (r.empty_room_timeout) facts.push(t('plan.fact_timeout', { n: r.empty_room_timeout }));
  const edit = h('button', { class: 'btn small', type: 'button', text: t('plan.edit') });
  edit.onclick = () => { fillForm(r); $('plan-form').scrollIntoView(); input('p-title').focus(); };
  return h('li', { class: 'item planned', 'data-room': r.unique_name }, [
    h('strong', { class: 'item-title', text: r.title || r.unique_name }),
    h('a', { href: roomPath(r.unique_name), text: meetingLink(r.unique_name) }),
    h('span', { class: 'muted facts', text: facts.join(' · ') }),
    edit,
  ]);
}
