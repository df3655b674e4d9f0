// Convene web app: the home screen (start a new meeting, or join one by name or link), and the room names
// of links: the canonical name is shown before joining whenever it differs from what was typed.
import { randomRoomName, canonicalRoomName } from '/sdk/convene.js';
import { $, show } from './dom.js';
import { t, liveText } from './i18n.js';
import { roomNameError } from './errors.js';

/** @typedef {import('/sdk/names.js').RoomNameResult} RoomNameResult */

/** A room name from what the user typed (a name or a meeting link). @param {string} raw @returns {RoomNameResult} */
export function roomFromInput(raw) {
  return canonicalRoomName(roomInput(raw));
}

/** The name part of what the user typed: a link's name, or the text itself. @param {string} raw */
function roomInput(raw) {
  const s = raw.trim();
  const m = s.match(/\/r\/([^/?#]+)/);
  return m ? decodePath(m[1]) : s;
}

/** A path segment decoded; a malformed escape is kept as typed (the name check then reports it). @param {string} s */
export function decodePath(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** The meeting's path: the name percent-encoded, so any script survives every client. @param {string} room */
export const roomPath = (room) => `/r/${encodeURIComponent(room)}`;

/**
 * What to tell the user before joining when the name used is not what they typed, or ''.
 * @param {RoomNameResult} r
 */
export function roomNotice(r) {
  if (!r.name || !r.changed) return '';
  if (!r.dropped.length) return t('home.notice', { room: r.name });
  return t('home.notice_dropped', { room: r.name, chars: r.dropped.map((c) => `“${c}”`).join(' ') });
}

/** Shows an error under the form (in the current language, also after a switch). @param {() => string} text */
export function showHomeError(text) { const e = $('home-error'); liveText(e, text); e.hidden = false; }

export function initHome() {
  show('home');
  const input = /** @type {HTMLInputElement} */ ($('room-input'));
  const notice = $('room-notice');
  const paint = () => {
    const r = input.value.trim() ? roomFromInput(input.value) : null;
    const shown = !!r && !!roomNotice(r);
    liveText(notice, r && shown ? () => roomNotice(r) : null);
    notice.hidden = !shown;
    $('home-error').hidden = true;
  };
  $('new-meeting').onclick = () => { location.href = roomPath(randomRoomName()); };
  input.oninput = paint;
  $('join-form').onsubmit = (e) => {
    e.preventDefault();
    const r = roomFromInput(input.value);
    if (!r.name) { const raw = roomInput(input.value); showHomeError(() => roomNameError(raw) || t('error.invalid_room_name')); return; }
    paint();
    location.href = roomPath(r.name);
  };
  paint();
}
