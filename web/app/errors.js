// Convene web app: why something was refused, in the current language. The server's error codes (see
// docs/protocol.md) are shown by code, never by the server's English message (kept only for a code this
// app does not know yet); the names the app checks itself before joining get the same treatment, since
// the SDK's reasons are English.
import { checkDisplayName, canonicalRoomName, DISPLAY_NAME_MAX, ROOM_NAME_MAX } from '/sdk/convene.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

/** The text for each server error code (and the app's own `unreachable`). @type {Record<string, () => string>} */
const ERROR_TEXT = {
  unreachable: () => t('error.unreachable'),
  malformed_json: () => t('error.malformed_json'),
  unknown_type: () => t('error.unknown_type'),
  invalid_message: () => t('error.invalid_message'),
  message_too_large: () => t('error.message_too_large'),
  rate_limited: () => t('error.rate_limited'),
  unsupported_version: () => t('error.unsupported_version'),
  not_joined: () => t('error.not_joined'),
  already_joined: () => t('error.already_joined'),
  invalid_room_name: () => t('error.invalid_room_name'),
  invalid_display_name: () => t('error.invalid_display_name'),
  room_not_found: () => t('error.room_not_found'),
  room_full: () => t('error.room_full'),
  unauthorized: () => t('error.unauthorized'),
  chat_too_long: () => t('error.chat_too_long'),
  chat_empty: () => t('error.chat_empty'),
  media_error: () => t('error.media_error'),
  server_draining: () => t('error.server_draining'),
  server_busy: () => t('error.server_busy'),
  storage_error: () => t('error.storage_error'),
  internal_error: () => t('error.internal_error'),
  invalid_credentials: () => t('error.invalid_credentials'),
  forbidden: () => t('error.forbidden'),
  not_found: () => t('error.not_found'),
  email_taken: () => t('error.email_taken'),
  invalid_email: () => t('error.invalid_email'),
  weak_password: () => t('error.weak_password'),
  signup_closed: () => t('error.signup_closed'),
  sign_in_required: () => t('error.sign_in_required'),
  not_invited: () => t('error.not_invited'),
  password_required: () => t('error.password_required'),
  wrong_password: () => t('error.wrong_password'),
  room_name_taken: () => t('error.room_name_taken'),
  invalid_token: () => t('error.invalid_token'),
  token_expired: () => t('error.token_expired'),
  token_not_yet_valid: () => t('error.token_not_yet_valid'),
  token_wrong_room: () => t('error.token_wrong_room'),
  too_many_from_address: () => t('error.too_many_from_address'),
  denied: () => t('error.denied'),
  removed: () => t('error.removed'),
  meeting_locked: () => t('error.meeting_locked'),
  muted_by_host: () => t('error.muted_by_host'),
  in_lobby: () => t('error.in_lobby'),
  file_too_large: () => t('error.file_too_large'),
  file_quota_exceeded: () => t('error.file_quota_exceeded'),
  image_too_large: () => t('error.image_too_large'),
};

/**
 * The refusal as text: by its code; an HTTP status without a code says the status; any other unknown
 * code shows the server's message, which is better than nothing.
 * @param {string} code @param {string} [message]
 */
export function errorText(code, message) {
  const known = Object.hasOwn(ERROR_TEXT, code) ? ERROR_TEXT[code] : null;
  if (known) return known();
  const http = /^http_(\d{3})$/.exec(code);
  if (http) return t('error.http', { status: http[1] });
  return message || code;
}

/** Why a request failed, in the current language (an error of the app's own is already in it). @param {unknown} e */
export function reasonOf(e) {
  if (e instanceof ApiError) return errorText(e.code, e.message);
  return e instanceof Error ? e.message : String(e);
}

/** Whether `code` has its own text (else `errorText` falls back to the server's message). @param {string} code */
export const knownError = (code) => Object.hasOwn(ERROR_TEXT, code);

/**
 * Why the SDK refuses this display name, in the current language, or null when it is fine. The SDK
 * gives only its English sentence; the reason is read from the same facts, in the SDK's order.
 * @param {string} raw
 */
export function displayNameError(raw) {
  const { name, error } = checkDisplayName(raw);
  if (!error) return null;
  const count = [...name].length;
  if (!name) return t('name.display_empty');
  if (/\p{Cc}/u.test(name)) return t('name.display_control');
  if (/^[\s\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u.test(name)) return t('name.display_invisible');
  return t('name.display_too_long', { count, max: DISPLAY_NAME_MAX });
}

/**
 * Why a typed meeting name (or link's name) has no canonical name, or null when it has one.
 * @param {string} raw
 */
export function roomNameError(raw) {
  const r = canonicalRoomName(raw);
  if (r.name) return null;
  const typed = raw.trim();
  if (!typed) return t('name.room_empty');
  // A name is empty after canonicalisation exactly when no letter or digit survives; else it is too long.
  const folded = typed.normalize('NFKC').toLowerCase().normalize('NFKC');
  if (!/[\p{L}\p{N}]/u.test(folded)) return t('name.room_no_letter');
  return t('name.room_too_long', { max: ROOM_NAME_MAX });
}
