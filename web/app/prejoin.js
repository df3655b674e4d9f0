// Convene web app: the prejoin screen — the name (checked as the server does), and the preview (preview.js).
// Every control works from the moment the screen shows: the devices open in the background (a permission
// prompt may sit open for a long time) and a Join clicked meanwhile waits for them instead of being lost.
import { checkDisplayName } from '/sdk/convene.js';
import { $, show } from './dom.js';
import { startMeeting } from './meeting.js';
import { Preview } from './preview.js';
import { me, api } from './api.js';
import { t, tNodes, liveText, onLanguageChange } from './i18n.js';
import { displayNameError } from './errors.js';

/** @typedef {import('./preview.js').Prefs} Prefs */

/** Remakes the texts of the prejoin screen (its title names the room wherever the language puts it). */
let repaint = () => {};
onLanguageChange(() => { if (!$('prejoin').hidden) repaint(); });

/**
 * @param {string} room the canonical room name
 * @param {{ notice: () => string, lossy: boolean }} link what to say about the link's name (empty: nothing)
 */
export function initPrejoin(room, link) {
  const params = new URLSearchParams(location.search);
  const nameInput = /** @type {HTMLInputElement} */ ($('name-input'));
  /** @type {Prefs} */
  const prefs = {
    mic: params.get('mic') !== '0' && localStorage.getItem('convene:mic') !== '0',
    cam: params.get('cam') !== '0' && localStorage.getItem('convene:cam') !== '0',
    audioDeviceId: localStorage.getItem('convene:audioDevice') || undefined,
    videoDeviceId: localStorage.getItem('convene:videoDevice') || undefined,
  };
  if (params.get('mic') === '1') prefs.mic = true;
  if (params.get('cam') === '1') prefs.cam = true;
  nameInput.value = params.get('name') || localStorage.getItem('convene:name') || '';
  document.title = `${room} · ${t('app.name')}`;
  const given = checkDisplayName(nameInput.value);
  const auto = params.get('autojoin') === '1' || !!sessionStorage.getItem(`convene:resume:${room}`);
  // A link whose name lost characters does not join by itself: the user sees the name first.
  if (auto && !given.error && !link.lossy) {
    startMeeting(room, given.name, prefs, null, null, (field, msg) => openPrejoin(room, prefs, link.notice, field, msg));
    return;
  }
  const typed = nameInput.value;
  showRecording(room);
  openPrejoin(room, prefs, link.notice, 'name', typed.trim() && given.error ? () => displayNameError(typed) || '' : undefined);
  // No name given or kept: the signed-in account's, unless the user has started typing one meanwhile.
  if (!nameInput.value) me().then((user) => { if (user && !nameInput.value) nameInput.value = user.display_name; });
}

/**
 * Says "This meeting is being recorded" when it is, before anyone joins (the server tells again in
 * `joined`, and the meeting shows its mark). A server that cannot say leaves the notice hidden.
 * @param {string} room
 */
async function showRecording(room) {
  const el = $('pre-recording');
  el.hidden = true;
  try {
    const r = /** @type {{ recording?: boolean }} */ (await api('GET', `/api/v1/rooms/${encodeURIComponent(room)}/recording`));
    el.hidden = !r?.recording;
  } catch {
    el.hidden = true;
  }
}

/**
 * Shows the form. Handlers are set before any device opens, and replace those of an earlier showing.
 * `field` and `message` say what the server refused last: the name (shown under it), or the
 * password (the password field shows, with the reason).
 * @param {string} room @param {Prefs} prefs @param {() => string} notice
 * @param {'name' | 'password'} field @param {() => string} [message] (made in the current language)
 */
function openPrejoin(room, prefs, notice, field, message) {
  const nameError = field === 'name' ? message : undefined;
  const pwInput = /** @type {HTMLInputElement} */ ($('pw-input'));
  const pwError = $('pw-error');
  if (field === 'password') {
    $('pw-row').hidden = false;
    liveText(pwError, message || null);
    pwError.hidden = !message;
    pwInput.value = '';
  }
  const nameInput = /** @type {HTMLInputElement} */ ($('name-input'));
  const joinBtn = /** @type {HTMLButtonElement} */ ($('join-btn'));
  show('prejoin');
  const roomEl = $('pre-room');
  roomEl.textContent = room;
  repaint = () => {
    $('pre-title').replaceChildren(...tNodes('prejoin.title', { room: roomEl }));
    document.title = `${room} · ${t('app.name')}`;
  };
  repaint();
  liveText($('pre-notice'), notice() ? notice : null);
  $('pre-notice').hidden = !notice();
  joinBtn.disabled = false;
  liveText(joinBtn, () => t('prejoin.join'));
  const err = $('pre-error');
  err.hidden = true;
  /** The devices' errors so far, all shown. @type {(() => string)[]} */
  const deviceErrors = [];
  const preview = new Preview(prefs, (m) => {
    deviceErrors.push(m);
    liveText(err, () => deviceErrors.map((e) => e()).join(' '));
    err.hidden = false;
  });
  const nameErr = $('name-error');
  /** @param {(() => string) | undefined} m */
  const setNameError = (m) => {
    liveText(nameErr, m || null);
    nameErr.hidden = !m;
    nameInput.setAttribute('aria-invalid', String(!!m));
  };
  setNameError(nameError);
  let joining = false;
  nameInput.oninput = () => { if (!nameErr.hidden) setNameError(undefined); };
  $('prejoin-form').onsubmit = async (e) => {
    e.preventDefault();
    if (joining) return;
    const typed = nameInput.value;
    const checked = checkDisplayName(typed);
    if (checked.error) { setNameError(() => displayNameError(typed) || ''); nameInput.focus(); return; }
    if (!$('pw-row').hidden) {
      if (!pwInput.value) { liveText(pwError, () => t('prejoin.enter_password')); pwError.hidden = false; pwInput.focus(); return; }
      // Kept for this tab only, so that a reload or a reconnection gets in again.
      sessionStorage.setItem(`convene:password:${room}`, pwInput.value);
    }
    joining = true;
    joinBtn.disabled = true;
    liveText(joinBtn, () => t('prejoin.joining'));
    const { audio, cam } = await preview.takeTracks();
    localStorage.setItem('convene:name', checked.name);
    localStorage.setItem('convene:mic', prefs.mic ? '1' : '0');
    localStorage.setItem('convene:cam', prefs.cam ? '1' : '0');
    startMeeting(room, checked.name, prefs, audio, cam, (f, msg) => openPrejoin(room, prefs, notice, f, msg));
  };
  preview.start();
  if (field === 'password') pwInput.focus(); else nameInput.focus();
}
