// Convene web app: the home screen (start a new meeting, or join one by name or link).
import { randomRoomName } from '/sdk/convene.js';
import { $, show } from './dom.js';

/** A room name from what the user typed (a name or a meeting link), or null. @param {string} raw @returns {string | null} */
export function normalizeRoom(raw) {
  let s = raw.trim();
  const m = s.match(/\/r\/([^/?#]+)/);
  if (m) s = decodeURIComponent(m[1]);
  s = s.toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9_-]/g, '');
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(s) ? s : null;
}

/** @param {string} msg */
export function showHomeError(msg) { const e = $('home-error'); e.textContent = msg; e.hidden = false; }

export function initHome() {
  show('home');
  $('new-meeting').addEventListener('click', () => { location.href = `/r/${randomRoomName()}`; });
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const room = normalizeRoom(/** @type {HTMLInputElement} */ ($('room-input')).value);
    if (!room) { showHomeError('Use letters, digits, - and _ (up to 64).'); return; }
    location.href = `/r/${room}`;
  });
}
