// Convene web app: the home screen (start a new meeting, or join one by name or link), and the room names
// of links: the canonical name is shown before joining whenever it differs from what was typed.
import { randomRoomName, canonicalRoomName } from '/sdk/convene.js';
import { $, show } from './dom.js';

/** @typedef {import('/sdk/names.js').RoomNameResult} RoomNameResult */

/** A room name from what the user typed (a name or a meeting link). @param {string} raw @returns {RoomNameResult} */
export function roomFromInput(raw) {
  let s = raw.trim();
  const m = s.match(/\/r\/([^/?#]+)/);
  if (m) s = decodePath(m[1]);
  return canonicalRoomName(s);
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
  const left = r.dropped.length ? ` (${r.dropped.map((c) => `“${c}”`).join(' ')} cannot be part of a meeting name)` : '';
  return `You'll join «${r.name}»${left}.`;
}

/** @param {string} msg */
export function showHomeError(msg) { const e = $('home-error'); e.textContent = msg; e.hidden = false; }

export function initHome() {
  show('home');
  const input = /** @type {HTMLInputElement} */ ($('room-input'));
  const notice = $('room-notice');
  const paint = () => {
    const text = input.value.trim() ? roomNotice(roomFromInput(input.value)) : '';
    notice.textContent = text;
    notice.hidden = !text;
    $('home-error').hidden = true;
  };
  $('new-meeting').onclick = () => { location.href = roomPath(randomRoomName()); };
  input.oninput = paint;
  $('join-form').onsubmit = (e) => {
    e.preventDefault();
    const r = roomFromInput(input.value);
    if (!r.name) { showHomeError(r.error || 'That meeting name cannot be used.'); return; }
    paint();
    location.href = roomPath(r.name);
  };
  paint();
}
