// Convene web app: the end screen — why the meeting ended for this page (left, removed, the connection lost
// for good) or why the server refused the join, in the current language (and again after a switch).
import { $, show } from './dom.js';
import { t, liveText, plural } from './i18n.js';
import { roomPath } from './home.js';
import { authHref } from './account.js';
import { errorText, knownError } from './errors.js';

/**
 * What the screen says; `signIn` labels a button to the sign-in form, which comes back to this meeting;
 * `rejoin: false` leaves out Rejoin (there is no coming back).
 * @typedef {{ title: () => string, text: () => string, signIn?: () => string, rejoin?: boolean }} EndText
 */

const tokenInvalid = { title: () => t('refused.token_invalid'), text: () => t('refused.token_invalid_text') };

/** Refused joins, by error code. @type {Record<string, EndText>} */
const REFUSED = {
  room_full: { title: () => t('refused.room_full'), text: () => t('refused.room_full_text') },
  unreachable: { title: () => t('refused.unreachable'), text: () => t('refused.unreachable_text') },
  unauthorized: { title: () => t('refused.unauthorized'), text: () => t('refused.unauthorized_text') },
  room_not_found: { title: () => t('refused.room_not_found'), text: () => t('refused.room_not_found_text') },
  server_draining: { title: () => t('refused.server_draining'), text: () => t('refused.server_draining_text') },
  server_busy: { title: () => t('refused.server_busy'), text: () => t('refused.server_busy_text') },
  sign_in_required: {
    title: () => t('refused.sign_in_required'), text: () => t('refused.sign_in_required_text'), signIn: () => t('account.signin'),
  },
  not_invited: {
    title: () => t('refused.not_invited'), text: () => t('refused.not_invited_text'), signIn: () => t('refused.other_account'),
  },
  too_many_from_address: {
    title: () => t('refused.too_many_from_address'), text: () => t('refused.too_many_from_address_text'), signIn: () => t('account.signin'),
  },
  token_expired: { title: () => t('refused.token_expired'), text: () => t('refused.token_expired_text') },
  token_not_yet_valid: { title: () => t('refused.token_not_yet_valid'), text: () => t('refused.token_not_yet_valid_text') },
  token_wrong_room: tokenInvalid,
  invalid_token: tokenInvalid,
  // Host powers: turned away from the lobby, removed (for this whole meeting), a locked meeting.
  denied: { title: () => t('refused.denied'), text: () => t('refused.denied_text') },
  removed: { title: () => t('ended.removed'), text: () => t('refused.removed_text'), rejoin: false },
  meeting_locked: { title: () => t('refused.meeting_locked'), text: () => t('refused.meeting_locked_text') },
};

/**
 * The screen for a join the server refused (or could not take), by its code; a code without a screen of its
 * own says "Could not join" and why.
 * @param {string} code @param {string} message the server's (English) message, for a code this app does not know
 * @param {string} room
 */
export function refusedScreen(code, message, room) {
  const own = Object.hasOwn(REFUSED, code) ? REFUSED[code] : null;
  endScreen(own || {
    title: () => t('refused.other'),
    text: () => (knownError(code) ? errorText(code) : `${message} (${code || 'error'})`),
  }, room);
}

/**
 * The screen after the client closed: `reason` is the SDK's (`left`, `removed`, ..., or the code that ended
 * a reconnection), `lastReason` why it was last reconnecting, `windowMs` how long it tried.
 * @param {string} reason @param {string | null} lastReason @param {number} windowMs @param {string} room
 */
export function closedScreen(reason, lastReason, windowMs, room) {
  /** @type {Record<string, () => string>} */
  const titles = {
    left: () => t('ended.left'),
    replaced: () => t('ended.replaced'),
    meeting_ended: () => t('ended.meeting_ended'),
    disconnected: lastReason === 'server_restarting' ? () => t('ended.no_comeback') : () => t('ended.connection_lost'),
  };
  if (!Object.hasOwn(titles, reason) && Object.hasOwn(REFUSED, reason)) { endScreen(REFUSED[reason], room); return; }
  endScreen({
    title: Object.hasOwn(titles, reason) ? titles[reason] : () => t('ended.disconnected'),
    text: reason === 'disconnected' ? () => t('ended.gave_up', { time: duration(windowMs) })
      : reason === 'meeting_ended' ? () => t('ended.meeting_ended_text') : () => '',
  }, room);
}

/** "5 minutes", "3 seconds", in the current language. @param {number} ms */
function duration(ms) {
  const n = Math.round(ms / 60_000);
  if (n >= 1) return plural(n, { one: () => t('ended.minutes_one', { n }), other: () => t('ended.minutes_other', { n }) });
  const s = Math.round(ms / 1000);
  return plural(s, { one: () => t('ended.seconds_one', { n: s }), other: () => t('ended.seconds_other', { n: s }) });
}

/** The final screen. The reconnection banner never stays on top of it. @param {EndText} end @param {string} room */
function endScreen(end, room) {
  $('banner').hidden = true;
  show('ended');
  liveText($('ended-title'), end.title);
  liveText($('ended-text'), end.text);
  $('rejoin').onclick = () => { location.href = roomPath(room); };
  $('rejoin').hidden = end.rejoin === false;
  const button = $('ended-signin');
  button.hidden = !end.signIn;
  liveText(button, end.signIn || null);
  // The same account's cookie would be sent again: signing in as another replaces it.
  button.onclick = () => { location.href = authHref('signin', roomPath(room)); };
  $('rejoin').className = end.signIn ? 'btn' : 'btn primary';
}
