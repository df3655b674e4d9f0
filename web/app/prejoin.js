// Convene web app: the prejoin screen — name, camera preview, microphone level, device choice. Every control
// works from the moment the screen shows: the devices open in the background (a permission prompt may sit
// open for a long time) and a Join clicked meanwhile waits for them instead of being lost.
import { getTrack, listDevices, meterLevel, checkDisplayName } from '/sdk/convene.js';
import { $, icon, show, fillSelect, deviceMessage } from './dom.js';
import { startMeeting } from './meeting.js';

/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */
/** @typedef {{mic: boolean, cam: boolean, audioDeviceId?: string, videoDeviceId?: string}} Prefs */

/**
 * @param {string} room the canonical room name
 * @param {{ notice: string, lossy: boolean }} link what to say about the link's name (empty: nothing)
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
  document.title = `${room} · Convene`;
  const given = checkDisplayName(nameInput.value);
  const auto = params.get('autojoin') === '1' || !!sessionStorage.getItem(`convene:resume:${room}`);
  // A link whose name lost characters does not join by itself: the user sees the name first.
  if (auto && !given.error && !link.lossy) {
    startMeeting(room, given.name, prefs, null, null, (msg) => openPrejoin(room, prefs, link.notice, msg));
    return;
  }
  openPrejoin(room, prefs, link.notice, nameInput.value.trim() ? given.error : undefined);
}

/**
 * Shows the form. Handlers are set before any device opens, and replace those of an earlier showing.
 * @param {string} room @param {Prefs} prefs @param {string} notice @param {string} [nameError]
 */
function openPrejoin(room, prefs, notice, nameError) {
  const nameInput = /** @type {HTMLInputElement} */ ($('name-input'));
  const audioSel = /** @type {HTMLSelectElement} */ ($('pre-audio'));
  const videoSel = /** @type {HTMLSelectElement} */ ($('pre-video'));
  const video = /** @type {HTMLVideoElement} */ ($('preview-video'));
  const joinBtn = /** @type {HTMLButtonElement} */ ($('join-btn'));
  show('prejoin');
  $('pre-room').textContent = room;
  $('pre-notice').textContent = notice;
  $('pre-notice').hidden = !notice;
  joinBtn.disabled = false;
  joinBtn.textContent = 'Join meeting';
  for (const b of ['pre-mic', 'pre-cam']) /** @type {HTMLButtonElement} */ ($(b)).disabled = false;
  /** @type {MediaStreamTrack | null} */ let audio = null;
  /** @type {MediaStreamTrack | null} */ let cam = null;
  /** @type {(() => void) | null} */ let stopMeter = null;
  let joining = false;
  const err = $('pre-error');
  err.hidden = true;
  /** @param {string} m */
  const addErr = (m) => { err.textContent = err.hidden ? m : `${err.textContent} ${m}`; err.hidden = false; };
  const nameErr = $('name-error');
  /** @param {string | undefined} m */
  const setNameError = (m) => {
    nameErr.textContent = m || '';
    nameErr.hidden = !m;
    nameInput.setAttribute('aria-invalid', String(!!m));
  };
  setNameError(nameError);

  const paint = () => {
    const mb = $('pre-mic'), cb = $('pre-cam');
    mb.innerHTML = icon(prefs.mic ? 'mic' : 'micOff');
    mb.setAttribute('aria-pressed', String(prefs.mic));
    mb.setAttribute('aria-label', prefs.mic ? 'Turn microphone off' : 'Turn microphone on');
    mb.classList.toggle('off', !prefs.mic);
    cb.innerHTML = icon(prefs.cam ? 'cam' : 'camOff');
    cb.setAttribute('aria-pressed', String(prefs.cam));
    cb.setAttribute('aria-label', prefs.cam ? 'Turn camera off' : 'Turn camera on');
    cb.classList.toggle('off', !prefs.cam);
    $('preview-off').hidden = !!(prefs.cam && cam);
    video.hidden = !(prefs.cam && cam);
  };

  const openAudio = async () => {
    stopMeter?.(); stopMeter = null; audio?.stop(); audio = null;
    if (!prefs.mic) { $('pre-meter').style.width = '0'; return; }
    try {
      audio = await getTrack('microphone', prefs.audioDeviceId);
      stopMeter = meterLevel(audio, (l) => { $('pre-meter').style.width = `${Math.round(l * 100)}%`; });
    } catch (e) {
      addErr(deviceMessage(/** @type {MediaAccessError} */ (e)));
      prefs.mic = false;
    }
  };
  const openVideo = async () => {
    cam?.stop(); cam = null;
    if (prefs.cam) {
      try {
        cam = await getTrack('camera', prefs.videoDeviceId);
        video.srcObject = new MediaStream([cam]);
      } catch (e) {
        addErr(deviceMessage(/** @type {MediaAccessError} */ (e)));
        prefs.cam = false;
      }
    }
  };
  const fillDevices = async () => {
    const d = await listDevices();
    fillSelect(audioSel, d.audioinput, audio?.getSettings().deviceId || prefs.audioDeviceId, 'Microphone');
    fillSelect(videoSel, d.videoinput, cam?.getSettings().deviceId || prefs.videoDeviceId, 'Camera');
  };
  // Device changes run one after another (a toggle while the first prompt is open waits for it); a join
  // waits for the ones under way so it gets the tracks the preview shows.
  let devices = Promise.resolve();
  /** @param {() => Promise<void>} fn */
  const serial = (fn) => { devices = devices.then(fn).catch(() => {}).then(paint); return devices; };

  const deviceControls = /** @type {(HTMLButtonElement|HTMLSelectElement)[]} */ ([$('pre-mic'), $('pre-cam'), audioSel, videoSel]);
  $('pre-mic').onclick = () => { prefs.mic = !prefs.mic; paint(); serial(openAudio); };
  $('pre-cam').onclick = () => { prefs.cam = !prefs.cam; paint(); serial(openVideo); };
  audioSel.onchange = () => { prefs.audioDeviceId = audioSel.value; localStorage.setItem('convene:audioDevice', audioSel.value); serial(openAudio); };
  videoSel.onchange = () => { prefs.videoDeviceId = videoSel.value; localStorage.setItem('convene:videoDevice', videoSel.value); serial(openVideo); };
  nameInput.oninput = () => { if (!nameErr.hidden) setNameError(undefined); };
  $('prejoin-form').onsubmit = async (e) => {
    e.preventDefault();
    if (joining) return;
    const checked = checkDisplayName(nameInput.value);
    if (checked.error) { setNameError(checked.error); nameInput.focus(); return; }
    joining = true;
    // What the join takes is decided now: the device controls rest (visibly) until the meeting opens.
    for (const el of [joinBtn, ...deviceControls]) el.disabled = true;
    joinBtn.textContent = 'Joining…';
    await devices;
    localStorage.setItem('convene:name', checked.name);
    localStorage.setItem('convene:mic', prefs.mic ? '1' : '0');
    localStorage.setItem('convene:cam', prefs.cam ? '1' : '0');
    stopMeter?.();
    startMeeting(room, checked.name, prefs, prefs.mic ? audio : (audio?.stop(), null), prefs.cam ? cam : (cam?.stop(), null),
      (msg) => openPrejoin(room, prefs, notice, msg));
  };

  paint();
  serial(async () => { await Promise.all([openAudio(), openVideo()]); await fillDevices(); });
  nameInput.focus();
}
