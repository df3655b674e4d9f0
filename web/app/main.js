// Convene web app: home, prejoin and meeting screens, built only on the SDK in /sdk/convene.js.
import { Convene, JoinError, MediaAccessError, getTrack, listDevices, meterLevel, randomRoomName } from '/sdk/convene.js';

/** @typedef {import('/sdk/convene.js').Participant} Participant */
/** @typedef {import('/sdk/convene.js').RemoteTrack} RemoteTrack */

// ───────────── helpers ─────────────

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [kids] */
function h(tag, attrs = {}, kids = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v; else if (k === 'text') el.textContent = v; else el.setAttribute(k, v);
  }
  for (const k of kids) el.append(k);
  return el;
}

const ICONS = {
  mic: '<path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11z"/>',
  micOff: '<path d="M19 11h-2c0 .7-.2 1.4-.4 2l1.5 1.5c.6-1 .9-2.2.9-3.5zM15 11.2V5a3 3 0 0 0-5.9-.8zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.3 2.7l1.6 1.6A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 3.4-1.3l3.3 3.3 1.3-1.3z"/>',
  cam: '<path d="M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z"/>',
  camOff: '<path d="M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2zM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.2 0 .4-.1.5-.2l3.2 3.2 1.3-1.3z"/>',
  screen: '<path d="M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2zM13 14.5V12c-3 0-5 1-6.5 3 .6-3 2.3-6 6.5-6.6V7l4 3.7z"/>',
  hand: '<path d="M21 7a1.5 1.5 0 0 0-3 0v5h-1V3.5a1.5 1.5 0 0 0-3 0V11h-1V2.5a1.5 1.5 0 0 0-3 0V11H9V5.5a1.5 1.5 0 0 0-3 0v9.7L3.6 13a1.6 1.6 0 0 0-2.2 2.3L7 21a5 5 0 0 0 3.5 1.5H16a5 5 0 0 0 5-5z"/>',
  grid: '<path d="M3 3h8v8H3zm10 0h8v8h-8zM3 13h8v8H3zm10 0h8v8h-8z"/>',
  speaker: '<path d="M3 3h18v13H3zM3 18h5v3H3zm6.5 0h5v3h-5zm6.5 0h5v3h-5z"/>',
  chat: '<path d="M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z"/>',
  people: '<path d="M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0h-1a4 4 0 0 1 2 3.5V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z"/>',
  gear: '<path d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7 7 0 0 0-1.7-1L15 3h-4l-.4 2.7a7 7 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7 7 0 0 0 1.7 1L11 21h4l.4-2.7a7 7 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z"/>',
  leave: '<path d="M12 9c-1.6 0-3.1.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.6 1.8a1 1 0 0 1-1.4 0L.3 13.1a1 1 0 0 1 0-1.4A16.3 16.3 0 0 1 12 7c4.6 0 8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.5 2.4a1 1 0 0 1-1.4 0c-.8-.7-1.6-1.3-2.6-1.8a1 1 0 0 1-.6-.9V9.7C15.1 9.3 13.6 9 12 9z"/>',
};
/** @param {keyof typeof ICONS} name */
const icon = (name) => `<svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22" fill="currentColor">${ICONS[name]}</svg>`;

/** @param {string} name */
const initials = (name) => name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';
/** @param {string} s */
function hue(s) { let x = 0; for (const c of s) x = (x * 31 + c.charCodeAt(0)) % 360; return x; }

let toastTimer = 0;
/** @param {string} text */
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { t.hidden = true; }, 3500);
}

/** @param {string} id */
function show(id) {
  for (const s of ['home', 'prejoin', 'meeting', 'ended']) $(s).hidden = s !== id;
}

/** @param {string} raw @returns {string | null} */
function normalizeRoom(raw) {
  let s = raw.trim();
  const m = s.match(/\/r\/([^/?#]+)/);
  if (m) s = decodeURIComponent(m[1]);
  s = s.toLowerCase().replace(/\s+/g, '-').replace(/[^a-z0-9_-]/g, '');
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(s) ? s : null;
}

/** @param {string} msg */
function showHomeError(msg) { const e = $('home-error'); e.textContent = msg; e.hidden = false; }

function initHome() {
  show('home');
  $('new-meeting').addEventListener('click', () => { location.href = `/r/${randomRoomName()}`; });
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const room = normalizeRoom(/** @type {HTMLInputElement} */ ($('room-input')).value);
    if (!room) { showHomeError('Use letters, digits, - and _ (up to 64).'); return; }
    location.href = `/r/${room}`;
  });
}

// ───────────── prejoin ─────────────

/** @param {string} room */
async function initPrejoin(room) {
  const params = new URLSearchParams(location.search);
  const nameInput = /** @type {HTMLInputElement} */ ($('name-input'));
  const audioSel = /** @type {HTMLSelectElement} */ ($('pre-audio'));
  const videoSel = /** @type {HTMLSelectElement} */ ($('pre-video'));
  const video = /** @type {HTMLVideoElement} */ ($('preview-video'));
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
  const resumeToken = sessionStorage.getItem(`convene:resume:${room}`);

  if (params.get('autojoin') === '1' && nameInput.value.trim() || resumeToken && nameInput.value.trim()) {
    startMeeting(room, nameInput.value.trim(), prefs, null, null);
    return;
  }

  show('prejoin');
  $('pre-room').textContent = room;
  /** @type {MediaStreamTrack | null} */ let audio = null;
  /** @type {MediaStreamTrack | null} */ let cam = null;
  /** @type {(() => void) | null} */ let stopMeter = null;
  const err = $('pre-error');
  /** @param {string} m */
  const addErr = (m) => { err.textContent = err.hidden ? m : `${err.textContent} ${m}`; err.hidden = false; };

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
    if (!prefs.mic) { /** @type {HTMLElement} */ ($('pre-meter')).style.width = '0'; return; }
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
    paint();
  };
  const fillDevices = async () => {
    const d = await listDevices();
    fillSelect(audioSel, d.audioinput, audio?.getSettings().deviceId || prefs.audioDeviceId, 'Microphone');
    fillSelect(videoSel, d.videoinput, cam?.getSettings().deviceId || prefs.videoDeviceId, 'Camera');
  };

  paint();
  await Promise.all([openAudio(), openVideo()]);
  paint();
  await fillDevices();

  $('pre-mic').addEventListener('click', async () => { prefs.mic = !prefs.mic; await openAudio(); paint(); });
  $('pre-cam').addEventListener('click', async () => { prefs.cam = !prefs.cam; await openVideo(); });
  audioSel.addEventListener('change', async () => { prefs.audioDeviceId = audioSel.value; localStorage.setItem('convene:audioDevice', audioSel.value); await openAudio(); });
  videoSel.addEventListener('change', async () => { prefs.videoDeviceId = videoSel.value; localStorage.setItem('convene:videoDevice', videoSel.value); await openVideo(); });
  $('prejoin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = nameInput.value.trim().replace(/\s+/g, ' ');
    if (!name) { nameInput.focus(); return; }
    localStorage.setItem('convene:name', name);
    localStorage.setItem('convene:mic', prefs.mic ? '1' : '0');
    localStorage.setItem('convene:cam', prefs.cam ? '1' : '0');
    stopMeter?.();
    startMeeting(room, name, prefs, prefs.mic ? audio : (audio?.stop(), null), prefs.cam ? cam : (cam?.stop(), null));
  });
  nameInput.focus();
}

/**
 * @param {HTMLSelectElement} sel @param {MediaDeviceInfo[]} list @param {string | undefined} current @param {string} label
 */
function fillSelect(sel, list, current, label) {
  sel.replaceChildren(...list.map((d, i) => {
    const o = h('option', { value: d.deviceId, text: d.label || `${label} ${i + 1}` });
    if (d.deviceId === current) /** @type {HTMLOptionElement} */ (o).selected = true;
    return o;
  }));
  sel.disabled = list.length === 0;
  if (!list.length) sel.replaceChildren(h('option', { text: `No ${label.toLowerCase()} found` }));
}

/** @param {MediaAccessError} e */
function deviceMessage(e) {
  const what = e.source === 'microphone' ? 'microphone' : e.source === 'camera' ? 'camera' : 'screen';
  if (e.denied) return `Access to the ${what} was denied; you can join without it (allow it in the browser's site settings).`;
  if (e.name === 'NotFoundError') return `No ${what} found; you can join without it.`;
  if (e.name === 'NotReadableError') return `The ${what} is in use by another application.`;
  return `The ${what} could not be opened (${e.message}).`;
}

// ───────────── meeting ─────────────

/**
 * @param {string} room @param {string} name
 * @param {{mic: boolean, cam: boolean, audioDeviceId?: string, videoDeviceId?: string}} prefs
 * @param {MediaStreamTrack | null} audioTrack @param {MediaStreamTrack | null} videoTrack
 */
async function startMeeting(room, name, prefs, audioTrack, videoTrack) {
  const resumeKey = `convene:resume:${room}`;
  const client = new Convene({
    room, displayName: name, mic: prefs.mic, camera: prefs.cam,
    audioDeviceId: prefs.audioDeviceId, videoDeviceId: prefs.videoDeviceId,
    audioTrack: audioTrack || undefined, videoTrack: videoTrack || undefined,
    resumeToken: sessionStorage.getItem(resumeKey) || undefined,
  });
  /** @type {any} */ (window).convene = client; // for debugging and tests
  const ui = new MeetingUI(client, room);

  client.on('joined', () => { if (client.resumeToken) sessionStorage.setItem(resumeKey, client.resumeToken); });
  client.on('closed', (e) => {
    ui.destroy();
    if (e.detail.reason === 'left') sessionStorage.removeItem(resumeKey);
    const titles = /** @type {Record<string, string>} */ ({
      left: 'You left the meeting',
      replaced: 'You joined from another tab',
      removed: 'You were removed from the meeting',
      meeting_ended: 'The meeting has ended',
      disconnected: 'Connection lost',
      server_shutdown: 'The server is restarting',
    });
    endScreen(titles[e.detail.reason] || 'Disconnected', e.detail.reason === 'disconnected' ? 'Could not reconnect to the server.' : '', room);
  });

  show('meeting');
  try {
    await client.join();
    sessionStorage.setItem(resumeKey, client.resumeToken || '');
  } catch (e) {
    ui.destroy();
    const err = /** @type {JoinError} */ (e);
    if (err.code === 'room_full') endScreen('This meeting is full', 'The room has reached its participant limit. Try again later.', room);
    else if (err.code === 'unreachable') endScreen('Cannot reach the server', 'Check your connection; the server may be down.', room);
    else if (err.code === 'unauthorized') endScreen('Not allowed', 'You are not allowed to join this meeting.', room);
    else if (err.code === 'room_not_found') endScreen('No such meeting', 'This meeting does not exist.', room);
    else if (err.code === 'server_draining') endScreen('The server is restarting', 'Try again in a moment.', room);
    else endScreen('Could not join', `${err.message} (${err.code || 'error'})`, room);
    return;
  }
  for (const m of client.mediaErrors) toast(deviceMessage(m));
}

/** @param {string} title @param {string} text @param {string} room */
function endScreen(title, text, room) {
  show('ended');
  $('ended-title').textContent = title;
  $('ended-text').textContent = text;
  $('rejoin').onclick = () => { location.href = `/r/${room}`; };
}

class MeetingUI {
  /** @param {Convene} client @param {string} room */
  constructor(client, room) {
    this.c = client;
    this.room = room;
    /** @type {Map<string, HTMLElement>} tile by key `${participantId}:${camera|screen}` */
    this.tiles = new Map();
    /** @type {Map<string, HTMLAudioElement>} */
    this.audios = new Map();
    this.speakerView = false;
    this.autoSpeaker = false;
    this.unread = 0;
    /** @type {'chat'|'people'|null} */
    this.panel = null;
    /** @type {string | null} */
    this.pinned = null;
    this.stage = $('stage');
    /** @type {(() => void)[]} */
    this.cleanup = [];
    $('m-room').textContent = room;
    this.bind();
    this.paintControls();
    this.layout();
  }

  destroy() {
    for (const f of this.cleanup) f();
    this.cleanup = [];
    for (const a of this.audios.values()) { a.srcObject = null; a.remove(); }
    this.audios.clear();
    this.stage.replaceChildren();
    this.tiles.clear();
  }

  /** @param {EventTarget} target @param {string} type @param {(e: any) => void} fn */
  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.cleanup.push(() => target.removeEventListener(type, fn));
  }

  bind() {
    const c = this.c;
    this.listen(c, 'joined', () => { this.syncAll(); this.renderChat(); });
    this.listen(c, 'participantjoined', (e) => { this.syncAll(); toast(`${e.detail.participant.display_name} joined`); });
    this.listen(c, 'participantleft', (e) => { this.syncAll(); toast(`${e.detail.participant.display_name} left`); });
    this.listen(c, 'participantupdated', (e) => {
      const { participant: p, previous } = e.detail;
      if (p.hand_raised && !previous.hand_raised && p.id !== c.participantId) toast(`${p.display_name} raised a hand`);
      this.syncAll();
    });
    this.listen(c, 'trackadded', (e) => this.onTrack(e.detail, true));
    this.listen(c, 'trackremoved', (e) => this.onTrack(e.detail, false));
    this.listen(c, 'localtrackchanged', () => { this.syncAll(); this.paintControls(); });
    this.listen(c, 'chat', (e) => {
      this.appendChat(e.detail.message);
      if (this.panel !== 'chat' && !e.detail.own) { this.unread++; this.paintUnread(); }
    });
    this.listen(c, 'dominantspeaker', () => this.paintSpeaker());
    this.listen(c, 'audiolevels', (e) => {
      const loud = new Set(e.detail.levels.filter((/** @type {{level: number}} */ l) => l.level > 40).map((/** @type {{participant_id: string}} */ l) => l.participant_id));
      for (const [key, t] of this.tiles) t.classList.toggle('speaking', loud.has(key.split(':')[0]));
    });
    this.listen(c, 'connectionstatechange', (e) => {
      const b = $('banner');
      if (e.detail.state === 'reconnecting') { b.textContent = 'Connection lost — reconnecting…'; b.hidden = false; }
      else if (e.detail.state === 'connected') { b.hidden = true; if (e.detail.previous === 'reconnecting') toast('Reconnected'); }
    });
    this.listen(c, 'mediastatechange', (e) => {
      const b = $('banner');
      if (c.state !== 'connected') return;
      if (e.detail.state === 'failed' || e.detail.state === 'disconnected') { b.textContent = 'Media connection interrupted — reconnecting…'; b.hidden = false; }
      else if (e.detail.state === 'connected') b.hidden = true;
    });
    this.listen(c, 'error', (e) => {
      if (e.detail.code === 'rate_limited' || e.detail.code === 'media_error') console.warn('convene:', e.detail);
      else if (e.detail.request === 'chat_send') toast(`Message not sent: ${e.detail.message}`);
    });

    this.listen($('c-mic'), 'click', () => this.toggleMic());
    this.listen($('c-cam'), 'click', () => this.toggleCam());
    this.listen($('c-screen'), 'click', () => this.toggleScreen());
    this.listen($('c-hand'), 'click', () => c.setHandRaised(!c.me?.hand_raised));
    this.listen($('c-layout'), 'click', () => { this.speakerView = !this.speakerView; this.autoSpeaker = false; this.pinned = null; this.paintControls(); this.layout(); });
    this.listen($('c-chat'), 'click', () => this.openPanel(this.panel === 'chat' ? null : 'chat'));
    this.listen($('c-people'), 'click', () => this.openPanel(this.panel === 'people' ? null : 'people'));
    this.listen($('tab-chat'), 'click', () => this.openPanel('chat'));
    this.listen($('tab-people'), 'click', () => this.openPanel('people'));
    this.listen($('side-close'), 'click', () => this.openPanel(null));
    this.listen($('c-settings'), 'click', () => this.toggleSettings());
    this.listen($('c-leave'), 'click', () => c.leave());
    this.listen($('copy-link'), 'click', async () => {
      const url = `${location.origin}/r/${this.room}`;
      try { await navigator.clipboard.writeText(url); toast('Invite link copied'); } catch { prompt('Copy this link', url); }
    });
    this.listen($('chat-form'), 'submit', (e) => {
      e.preventDefault();
      const input = /** @type {HTMLInputElement} */ ($('chat-input'));
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      c.sendChat(text).catch((err) => { toast(`Message not sent: ${err.message}`); input.value = text; });
    });
    this.listen(/** @type {HTMLSelectElement} */ ($('m-audio')), 'change', (e) => { const v = e.target.value; localStorage.setItem('convene:audioDevice', v); c.switchDevice('audioinput', v).catch((err) => toast(deviceMessage(err))); });
    this.listen(/** @type {HTMLSelectElement} */ ($('m-video')), 'change', (e) => { const v = e.target.value; localStorage.setItem('convene:videoDevice', v); c.switchDevice('videoinput', v).catch((err) => toast(deviceMessage(err))); });
    this.listen(document, 'keydown', (e) => {
      const ev = /** @type {KeyboardEvent} */ (e);
      const t = /** @type {HTMLElement} */ (ev.target);
      if (ev.ctrlKey || ev.metaKey || ev.altKey || t.matches('input, textarea, select, [contenteditable]')) return;
      const k = ev.key.toLowerCase();
      if (k === 'm') this.toggleMic();
      else if (k === 'v') this.toggleCam();
      else if (k === 'h') c.setHandRaised(!c.me?.hand_raised);
      else if (k === 's') $('c-layout').click();
      else if (k === 'c') $('c-chat').click();
      else if (k === 'p') $('c-people').click();
      else if (k === 'escape') { this.openPanel(null); $('settings').hidden = true; }
      else return;
      ev.preventDefault();
    });
    this.listen(window, 'resize', () => this.layout());
    this.listen(window, 'pagehide', () => { /* a reload resumes: do not send leave */ });
    if (navigator.mediaDevices) this.listen(navigator.mediaDevices, 'devicechange', () => this.fillDevices());
  }

  async toggleMic() {
    try { await this.c.setMicEnabled(this.c.muted.mic); } catch (e) { toast(deviceMessage(/** @type {MediaAccessError} */ (e))); }
    this.paintControls();
    this.syncAll();
  }

  async toggleCam() {
    try { await this.c.setCameraEnabled(this.c.muted.camera); } catch (e) { toast(deviceMessage(/** @type {MediaAccessError} */ (e))); }
    this.paintControls();
    this.syncAll();
  }

  async toggleScreen() {
    try {
      if (this.c.localTracks.screen) await this.c.stopScreenShare();
      else await this.c.startScreenShare();
    } catch (e) {
      const err = /** @type {MediaAccessError} */ (e);
      if (!err.denied) toast(deviceMessage(err));
    }
    this.paintControls();
  }

  async toggleSettings() {
    const s = $('settings');
    s.hidden = !s.hidden;
    $('c-settings').setAttribute('aria-expanded', String(!s.hidden));
    if (!s.hidden) await this.fillDevices();
  }

  async fillDevices() {
    const d = await listDevices();
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-audio')), d.audioinput, this.c.localTracks.microphone?.getSettings().deviceId, 'Microphone');
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-video')), d.videoinput, this.c.localTracks.camera?.getSettings().deviceId, 'Camera');
  }

  paintControls() {
    const c = this.c;
    /** @param {string} id @param {boolean} on @param {keyof typeof ICONS} ic @param {string} label @param {boolean} [offStyle] */
    const set = (id, on, ic, label, offStyle) => {
      const b = $(id);
      const badge = b.querySelector('.badge');
      b.innerHTML = icon(ic);
      if (badge) b.append(badge);
      b.setAttribute('aria-label', label);
      if (b.hasAttribute('aria-pressed')) b.setAttribute('aria-pressed', String(on));
      b.classList.toggle('off', !!offStyle);
      b.classList.toggle('active', on && !offStyle && !['c-mic', 'c-cam'].includes(id));
    };
    set('c-mic', !c.muted.mic, c.muted.mic ? 'micOff' : 'mic', c.muted.mic ? 'Unmute microphone (m)' : 'Mute microphone (m)', c.muted.mic);
    set('c-cam', !c.muted.camera, c.muted.camera ? 'camOff' : 'cam', c.muted.camera ? 'Turn camera on (v)' : 'Turn camera off (v)', c.muted.camera);
    set('c-screen', !!c.localTracks.screen, 'screen', c.localTracks.screen ? 'Stop sharing screen' : 'Share screen');
    set('c-hand', !!c.me?.hand_raised, 'hand', c.me?.hand_raised ? 'Lower hand (h)' : 'Raise hand (h)');
    set('c-layout', this.speakerView, this.speakerView ? 'grid' : 'speaker', this.speakerView ? 'Grid view (s)' : 'Speaker view (s)');
    set('c-chat', this.panel === 'chat', 'chat', this.unread ? `Chat, ${this.unread} unread (c)` : 'Chat (c)');
    set('c-people', this.panel === 'people', 'people', 'Participants (p)');
    set('c-settings', false, 'gear', 'Device settings');
    set('c-leave', false, 'leave', 'Leave meeting');
    if (!navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices)) $('c-screen').hidden = true;
  }

  paintUnread() {
    const b = $('unread');
    b.hidden = this.unread === 0;
    b.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.paintControls();
  }

  /** @param {'chat'|'people'|null} which */
  openPanel(which) {
    this.panel = which;
    $('side').hidden = !which;
    $('chat-panel').hidden = which !== 'chat';
    $('people-panel').hidden = which !== 'people';
    $('tab-chat').setAttribute('aria-selected', String(which === 'chat'));
    $('tab-people').setAttribute('aria-selected', String(which === 'people'));
    if (which === 'chat') {
      this.unread = 0;
      this.paintUnread();
      const list = $('chat-list');
      list.scrollTop = list.scrollHeight;
      if (matchMedia('(pointer: fine)').matches) $('chat-input').focus();
    }
    this.paintControls();
    this.layout();
  }

  // ── tiles ──

  /** @param {string} pid @param {'camera'|'screen'} kind */
  tile(pid, kind) {
    const key = `${pid}:${kind}`;
    let t = this.tiles.get(key);
    if (!t) {
      const video = /** @type {HTMLVideoElement} */ (h('video', { autoplay: '', playsinline: '' }));
      video.muted = true;
      t = h('div', { class: `tile ${kind}`, 'data-participant-id': pid, 'data-source': kind, role: 'group' }, [
        h('div', { class: 'avatar', 'aria-hidden': 'true' }),
        video,
        h('div', { class: 'label' }, [h('span', { class: 'mic-state' }), h('span', { class: 'name' }), h('span', { class: 'hand', title: 'Hand raised', 'aria-label': 'Hand raised' })]),
      ]);
      /** @type {HTMLElement} */ (t.querySelector('.hand')).innerHTML = icon('hand');
      t.addEventListener('dblclick', () => { this.pinned = this.pinned === key ? null : key; this.speakerView = !!this.pinned || this.speakerView; this.paintControls(); this.layout(); });
      this.tiles.set(key, t);
      this.stage.append(t);
    }
    return t;
  }

  /** @param {string} key */
  removeTile(key) {
    const t = this.tiles.get(key);
    if (!t) return;
    const v = t.querySelector('video');
    if (v) { this.c.detachVideo(v); v.srcObject = null; }
    t.remove();
    this.tiles.delete(key);
  }

  /** @param {RemoteTrack} rt @param {boolean} added */
  onTrack(rt, added) {
    if (added && rt.source === 'screen' && !this.speakerView) {
      // Like other meeting apps: a new screen share takes the stage (the layout button goes back to the grid).
      this.speakerView = true;
      this.autoSpeaker = true;
    } else if (!added && rt.source === 'screen' && this.autoSpeaker) {
      this.speakerView = false;
      this.autoSpeaker = false;
    }
    if (rt.kind === 'audio') {
      if (added) {
        const a = /** @type {HTMLAudioElement} */ (h('audio', { autoplay: '' }));
        a.srcObject = rt.stream;
        a.play().catch(() => {});
        $('audio-sink').append(a);
        this.audios.set(rt.mid, a);
      } else {
        this.audios.get(rt.mid)?.remove();
        this.audios.delete(rt.mid);
      }
      return;
    }
    this.syncAll();
  }

  /** Bring tiles in line with the participants and tracks. */
  syncAll() {
    const c = this.c;
    const wanted = new Set();
    for (const p of c.participants.values()) {
      wanted.add(`${p.id}:camera`);
      const t = this.tile(p.id, 'camera');
      this.paintTile(t, p, 'camera');
      const screenRemote = [...c.remoteTracks.values()].find((r) => r.participantId === p.id && r.source === 'screen');
      const ownScreen = p.id === c.participantId && c.localTracks.screen;
      if (screenRemote || ownScreen) {
        wanted.add(`${p.id}:screen`);
        this.paintTile(this.tile(p.id, 'screen'), p, 'screen');
      }
    }
    for (const key of [...this.tiles.keys()]) if (!wanted.has(key)) this.removeTile(key);
    this.renderPeople();
    const n = c.participants.size;
    $('m-count').textContent = `${n} ${n === 1 ? 'person' : 'people'}`;
    this.paintControls();
    this.paintSpeaker();
    this.layout();
  }

  /** @param {HTMLElement} t @param {Participant} p @param {'camera'|'screen'} kind */
  paintTile(t, p, kind) {
    const c = this.c;
    const me = p.id === c.participantId;
    const video = /** @type {HTMLVideoElement} */ (t.querySelector('video'));
    const name = me ? `${p.display_name} (you)` : p.display_name;
    /** @type {HTMLElement} */ (t.querySelector('.name')).textContent = kind === 'screen' ? `${p.display_name}'s screen` : name;
    t.setAttribute('aria-label', kind === 'screen' ? `${p.display_name}'s screen` : `${name}${p.mic_muted ? ', muted' : ''}${p.hand_raised ? ', hand raised' : ''}`);
    t.dataset.micMuted = String(p.mic_muted);
    t.dataset.hand = String(p.hand_raised);
    t.dataset.name = p.display_name;
    t.classList.toggle('me', me);
    const micEl = /** @type {HTMLElement} */ (t.querySelector('.mic-state'));
    micEl.innerHTML = kind === 'camera' && p.mic_muted ? icon('micOff') : '';
    micEl.setAttribute('aria-label', p.mic_muted ? 'Microphone muted' : '');
    /** @type {HTMLElement} */ (t.querySelector('.hand')).hidden = !(kind === 'camera' && p.hand_raised);
    const av = /** @type {HTMLElement} */ (t.querySelector('.avatar'));
    av.textContent = initials(p.display_name);
    av.style.setProperty('--hue', String(hue(p.id)));
    /** @type {MediaStreamTrack | null | undefined} */
    let track = null;
    if (me) {
      track = kind === 'camera' ? (c.muted.camera ? null : c.localTracks.camera) : c.localTracks.screen;
      if (track) {
        if (!(video.srcObject instanceof MediaStream) || video.srcObject.getVideoTracks()[0] !== track) video.srcObject = new MediaStream([track]);
        video.classList.toggle('mirror', kind === 'camera');
      } else video.srcObject = null;
    } else {
      const rt = [...c.remoteTracks.values()].find((r) => r.participantId === p.id && r.kind === 'video' && r.source === kind);
      const show = rt && (kind === 'screen' || !p.camera_muted);
      if (rt && show) { c.attachVideo(video, rt); track = rt.track; }
      else { c.detachVideo(video); video.srcObject = null; }
    }
    t.classList.toggle('has-video', !!track);
  }

  paintSpeaker() {
    const d = this.c.dominantSpeaker;
    for (const [key, t] of this.tiles) t.classList.toggle('dominant', key === `${d}:camera` && this.c.participants.size > 2);
    if (this.speakerView) this.layout();
  }

  /** Grid: columns and rows that give the largest 16:9 tiles; speaker view: one big + a strip. */
  layout() {
    const stage = this.stage;
    const tiles = [...this.tiles.entries()];
    if (!tiles.length) return;
    const rect = stage.getBoundingClientRect();
    const W = Math.max(rect.width, 1), H = Math.max(rect.height, 1);
    const gap = 8;
    let main = null;
    if (this.speakerView && tiles.length > 1) {
      const screens = tiles.filter(([k]) => k.endsWith(':screen'));
      const d = this.c.dominantSpeaker;
      main = (this.pinned && this.tiles.has(this.pinned) && this.pinned)
        || (screens[0] && screens[0][0])
        || (d && d !== this.c.participantId && this.tiles.has(`${d}:camera`) && `${d}:camera`)
        || (tiles.find(([k]) => !k.startsWith(`${this.c.participantId}:`)) || tiles[0])[0];
    }
    stage.classList.toggle('speaker', !!main);
    if (main) {
      const others = tiles.filter(([k]) => k !== main);
      const stripH = Math.min(H * 0.22, 140);
      const bigH = H - stripH - gap;
      for (const [k, t] of tiles) {
        if (k === main) {
          place(t, 0, 0, W, bigH);
        }
      }
      const tw = Math.min(stripH * 16 / 9, (W - gap * (others.length - 1)) / others.length);
      const startX = (W - (tw * others.length + gap * (others.length - 1))) / 2;
      others.forEach(([, t], i) => place(t, startX + i * (tw + gap), bigH + gap, tw, Math.min(stripH, tw * 9 / 16)));
    } else {
      const n = tiles.length;
      let best = { cols: 1, w: 0, h: 0 };
      for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        let w = (W - gap * (cols - 1)) / cols;
        let hh = w * 9 / 16;
        if (hh * rows + gap * (rows - 1) > H) { hh = (H - gap * (rows - 1)) / rows; w = hh * 16 / 9; }
        if (w > best.w) best = { cols, w, h: hh };
      }
      const rows = Math.ceil(n / best.cols);
      const totalH = rows * best.h + (rows - 1) * gap;
      tiles.forEach(([, t], i) => {
        const r = Math.floor(i / best.cols);
        const inRow = r === rows - 1 ? n - r * best.cols : best.cols;
        const rowW = inRow * best.w + (inRow - 1) * gap;
        const col = i - r * best.cols;
        place(t, (W - rowW) / 2 + col * (best.w + gap), (H - totalH) / 2 + r * (best.h + gap), best.w, best.h);
      });
    }
    /** @param {HTMLElement} t @param {number} x @param {number} y @param {number} w @param {number} hh */
    function place(t, x, y, w, hh) {
      t.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
      t.style.width = `${Math.round(w)}px`;
      t.style.height = `${Math.round(hh)}px`;
    }
    this.c.updateVideoSizes();
  }

  // ── side panels ──

  renderPeople() {
    const c = this.c;
    const list = $('people-list');
    const people = [...c.participants.values()].sort((a, b) => Number(b.hand_raised) - Number(a.hand_raised) || a.joined_at - b.joined_at);
    list.replaceChildren(...people.map((p) => {
      const li = h('li', { 'data-participant-id': p.id, 'data-hand': String(p.hand_raised), 'data-mic-muted': String(p.mic_muted) }, [
        h('span', { class: 'avatar small', 'aria-hidden': 'true', text: initials(p.display_name), style: `--hue:${hue(p.id)}` }),
        h('span', { class: 'who' }, [
          h('span', { class: 'name', text: p.id === c.participantId ? `${p.display_name} (you)` : p.display_name }),
          h('span', { class: 'muted role', text: p.role === 'host' ? 'Host' : '' }),
        ]),
        h('span', { class: 'states' }, [
          ...(p.hand_raised ? [h('span', { class: 'hand', 'aria-label': 'Hand raised', title: 'Hand raised' })] : []),
          h('span', { class: `st ${p.mic_muted ? 'off' : ''}`, 'aria-label': p.mic_muted ? 'Microphone muted' : 'Microphone on' }),
          h('span', { class: `st ${p.camera_muted ? 'off' : ''}`, 'aria-label': p.camera_muted ? 'Camera off' : 'Camera on' }),
        ]),
      ]);
      const [mic, cam] = li.querySelectorAll('.st');
      const hand = li.querySelector('.hand');
      if (hand) hand.innerHTML = icon('hand');
      mic.innerHTML = icon(p.mic_muted ? 'micOff' : 'mic');
      cam.innerHTML = icon(p.camera_muted ? 'camOff' : 'cam');
      return li;
    }));
    const hands = people.filter((p) => p.hand_raised).length;
    const tab = $('tab-people');
    tab.innerHTML = `People (${people.length})${hands ? ` <span class="hand" aria-label="${hands} raised">${icon('hand')}${hands}</span>` : ''}`;
  }

  renderChat() {
    $('chat-list').replaceChildren();
    for (const m of this.c.chat) this.appendChat(m);
  }

  /** @param {import('/sdk/convene.js').ChatMessage} m */
  appendChat(m) {
    const list = $('chat-list');
    if (list.querySelector(`[data-seq="${m.seq}"]`)) return;
    const own = m.from === this.c.participantId;
    const time = new Date(m.sent_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const li = h('li', { class: own ? 'own' : '', 'data-seq': String(m.seq) }, [
      h('div', { class: 'meta' }, [h('strong', { text: own ? 'You' : m.from_name }), h('time', { text: time, datetime: new Date(m.sent_at).toISOString() })]),
      h('div', { class: 'text', text: m.text }),
    ]);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(li);
    if (atBottom || own) list.scrollTop = list.scrollHeight;
  }
}

// ───────────── routing ─────────────

const path = location.pathname;
const roomMatch = path.match(/^\/r\/([^/]+)/);
if (roomMatch) {
  const room = normalizeRoom(decodeURIComponent(roomMatch[1]));
  if (!room) { show('home'); showHomeError('That meeting name is not valid: use letters, digits, - and _.'); initHome(); }
  else initPrejoin(room);
} else {
  show('home');
  initHome();
}
