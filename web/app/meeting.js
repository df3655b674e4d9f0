// Convene web app: the meeting screen — joining (and the messages when a join is refused), the end
// screen, and MeetingUI, which wires the client's events to the tiles, panels and controls.
import { Convene, listDevices } from '/sdk/convene.js';
import { $, h, show, toast, fillSelect, deviceMessage, joinDevicesMessage } from './dom.js';
import { TileGrid } from './tiles.js';
import { renderChat, appendChat } from './chat.js';
import { renderPeople } from './people.js';
import { paintControls } from './controls.js';
import { bindShortcuts } from './shortcuts.js';
import { InviteCard } from './invite.js';
import { bindShareBar, paintShareBar } from './share.js';
import { AudioOutput } from './audio-output.js';
import { Reactions, EMOJI } from './reactions.js';
import { QualityView } from './netquality.js';
import { initHome, showHomeError, roomPath } from './home.js';
import { authHref } from './account.js';

/** @typedef {import('/sdk/convene.js').RemoteTrack} RemoteTrack */
/** @typedef {import('/sdk/convene.js').JoinError} JoinError */
/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */

/** What the banner says while the client reconnects, by reason. */
const RECONNECTING = {
  server_restarting: 'The server is restarting — you\'ll be back in a moment',
  connection_lost: 'Connection lost — reconnecting…',
};

/**
 * @param {string} room @param {string} name
 * @param {{mic: boolean, cam: boolean, audioDeviceId?: string, videoDeviceId?: string}} prefs
 * @param {MediaStreamTrack | null} audioTrack @param {MediaStreamTrack | null} videoTrack
 * @param {(field: 'name' | 'password', message: string) => void} onRefused the server refused the
 *   display name, or wants the meeting's password: back to the form, which asks for it
 */
export async function startMeeting(room, name, prefs, audioTrack, videoTrack, onRefused) {
  const resumeKey = `convene:resume:${room}`;
  const passwordKey = `convene:password:${room}`;
  // An access token comes in the link's fragment (`#token=...`), which browsers never send to a server.
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || undefined;
  const client = new Convene({
    room, displayName: name, mic: prefs.mic, camera: prefs.cam,
    audioDeviceId: prefs.audioDeviceId, videoDeviceId: prefs.videoDeviceId,
    audioTrack: audioTrack || undefined, videoTrack: videoTrack || undefined,
    resumeToken: sessionStorage.getItem(resumeKey) || undefined,
    password: sessionStorage.getItem(passwordKey) || undefined,
    accessToken: token,
    ...testTimings(),
  });
  /** @type {any} */ (window).convene = client; // for debugging and tests
  const ui = new MeetingUI(client, room);

  client.on('joined', () => { if (client.resumeToken) sessionStorage.setItem(resumeKey, client.resumeToken); });
  /** @type {string | null} why the client was last reconnecting (for the end screen) */
  let lastReason = null;
  let ended = false;
  client.on('connectionstatechange', (e) => { if (e.detail.reason) lastReason = e.detail.reason; });
  client.on('closed', (e) => {
    ended = true;
    ui.destroy();
    if (e.detail.reason === 'left') sessionStorage.removeItem(resumeKey);
    const titles = /** @type {Record<string, string>} */ ({
      left: 'You left the meeting',
      replaced: 'You joined from another tab',
      removed: 'You were removed from the meeting',
      meeting_ended: 'The meeting has ended',
      disconnected: lastReason === 'server_restarting' ? 'The server did not come back' : 'Connection lost',
      room_full: 'This meeting is full',
    });
    const mins = Math.round(client.reconnectWindowMs / 60_000);
    const waited = mins >= 1 ? `${mins} minute${mins === 1 ? '' : 's'}` : `${Math.round(client.reconnectWindowMs / 1000)} seconds`;
    endScreen(titles[e.detail.reason] || 'Disconnected',
      e.detail.reason === 'disconnected' ? `Could not reconnect to the server for ${waited}.` : '', room);
  });

  show('meeting');
  try {
    await client.join();
    sessionStorage.setItem(resumeKey, client.resumeToken || '');
  } catch (e) {
    ui.destroy();
    if (ended) return; // a reload that waited for the server and gave up: the end screen says so already
    const err = /** @type {JoinError} */ (e);
    if (err.code === 'invalid_display_name') { onRefused('name', err.message); return; }
    if (err.code === 'password_required' || err.code === 'wrong_password') {
      sessionStorage.removeItem(passwordKey);
      onRefused('password', err.code === 'wrong_password' ? 'That password is not right. Try again.' : 'This meeting has a password. Enter it to join.');
      return;
    }
    if (err.code === 'invalid_room_name') { initHome(); showHomeError(`That meeting name cannot be used: ${err.message}`); return; }
    if (err.code === 'room_full') endScreen('This meeting is full', 'The room has reached its participant limit. Try again later.', room);
    else if (err.code === 'unreachable') endScreen('Cannot reach the server', 'Check your connection; the server may be down.', room);
    else if (err.code === 'unauthorized') endScreen('Not allowed', 'You are not allowed to join this meeting.', room);
    else if (err.code === 'room_not_found') endScreen('No such meeting', 'This meeting does not exist.', room);
    else if (err.code === 'server_draining') endScreen('The server is restarting', 'Try again in a moment.', room);
    else if (err.code === 'server_busy') endScreen('The server is busy', 'It is carrying all the media it can. Try again in a moment.', room);
    else if (err.code === 'sign_in_required') endScreen('This meeting is for members', 'Sign in to your account on this server, then open the link again.', room, 'Sign in');
    else if (err.code === 'not_invited') endScreen('You are not on the invitation list', 'Ask the host to invite the email you sign in with, then open the link again.', room, 'Sign in with another account');
    else if (err.code === 'token_expired') endScreen('This link has expired', 'Ask whoever sent it for a new one.', room);
    else if (err.code === 'token_not_yet_valid') endScreen('This link is not valid yet', 'It opens at the time it was made for. Try again then.', room);
    else if (err.code === 'token_wrong_room' || err.code === 'invalid_token') endScreen('This link does not open this meeting', 'Ask whoever sent it for a new one.', room);
    else endScreen('Could not join', `${err.message} (${err.code || 'error'})`, room);
    return;
  }
  // Several failures make one message (toasts replace each other), shown long enough to read.
  if (client.mediaErrors.length) toast(joinDevicesMessage(client.mediaErrors), 10_000);
}

/**
 * Test hooks: shorter reconnection timings from the page's query (`?retrymax=ms&retrywindow=ms`), so a
 * browser test need not wait out the defaults. Without them the SDK's defaults apply.
 */
function testTimings() {
  const q = new URLSearchParams(location.search);
  /** @type {{ reconnectBackoffMaxMs?: number, reconnectWindowMs?: number }} */
  const o = {};
  const max = Number(q.get('retrymax'));
  const win = Number(q.get('retrywindow'));
  if (max > 0) o.reconnectBackoffMaxMs = max;
  if (win > 0) o.reconnectWindowMs = win;
  return o;
}

/**
 * The final screen. The reconnection banner never stays on top of it. `signIn` labels a button to the
 * sign-in form, which comes back to this meeting afterwards.
 * @param {string} title @param {string} text @param {string} room @param {string} [signIn]
 */
function endScreen(title, text, room, signIn) {
  $('banner').hidden = true;
  show('ended');
  $('ended-title').textContent = title;
  $('ended-text').textContent = text;
  $('rejoin').onclick = () => { location.href = roomPath(room); };
  const button = $('ended-signin');
  button.hidden = !signIn;
  button.textContent = signIn || '';
  // The same account's cookie would be sent again: signing in as another replaces it.
  button.onclick = () => { location.href = authHref('signin', roomPath(room)); };
  $('rejoin').className = signIn ? 'btn' : 'btn primary';
}

/**
 * The banner over the meeting: `text` (null hides it); `actions` shows "Try now" and "Leave".
 * @param {string | null} text @param {boolean} [actions]
 */
function banner(text, actions = false) {
  $('banner').hidden = text === null;
  $('banner-text').textContent = text || '';
  $('banner-actions').hidden = !actions;
}

export class MeetingUI {
  /** @param {Convene} client @param {string} room */
  constructor(client, room) {
    this.c = client;
    this.room = room;
    /** @type {Map<string, HTMLAudioElement>} */
    this.audios = new Map();
    this.unread = 0;
    /** @type {'chat'|'people'|null} */
    this.panel = null;
    this.grid = new TileGrid(client, $('stage'), () => this.paintControls());
    /** @type {(() => void)[]} */
    this.cleanup = [];
    this.invite = new InviteCard(this);
    this.audioOut = new AudioOutput(() => this.audios.values());
    this.quality = new QualityView(this);
    // Reactions need an SDK that can send them; without, the button stays hidden.
    this.reactions = typeof /** @type {any} */ (client).sendReaction === 'function' ? new Reactions(this, EMOJI) : null;
    $('c-react').hidden = !this.reactions;
    $('m-room').textContent = room;
    this.bind();
    this.paintControls();
    this.grid.layout();
  }

  destroy() {
    banner(null);
    for (const f of this.cleanup) f();
    this.cleanup = [];
    for (const a of this.audios.values()) { a.srcObject = null; a.remove(); }
    this.audios.clear();
    this.grid.destroy();
  }

  /** @param {EventTarget} target @param {string} type @param {(e: any) => void} fn */
  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.cleanup.push(() => target.removeEventListener(type, fn));
  }

  bind() {
    const c = this.c;
    this.listen(c, 'joined', () => {
      // The server's spelling of the name is the one that counts (the links use it too).
      this.room = c.room;
      $('m-room').textContent = c.room;
      document.title = `${c.room} · Convene`;
      this.syncAll();
      renderChat(c);
    });
    this.listen(c, 'participantjoined', (e) => { this.syncAll(); toast(`${e.detail.participant.display_name} joined`); });
    this.listen(c, 'participantleft', (e) => { this.quality.forget(e.detail.participant.id); this.syncAll(); toast(`${e.detail.participant.display_name} left`); });
    this.listen(c, 'participantupdated', (e) => {
      const { participant: p, previous } = e.detail;
      if (p.hand_raised && !previous.hand_raised && p.id !== c.participantId) toast(`${p.display_name} raised a hand`);
      this.syncAll();
    });
    this.listen(c, 'trackadded', (e) => this.onTrack(e.detail, true));
    this.listen(c, 'trackremoved', (e) => this.onTrack(e.detail, false));
    this.listen(c, 'localtrackchanged', () => { this.syncAll(); this.paintControls(); });
    this.listen(c, 'chat', (e) => {
      appendChat(c, e.detail.message);
      if (this.panel !== 'chat' && !e.detail.own) { this.unread++; this.paintUnread(); }
    });
    this.listen(c, 'dominantspeaker', () => this.grid.paintSpeaker());
    this.listen(c, 'qualitychange', (e) => this.quality.onChange(e.detail));
    this.listen(c, 'reaction', (e) => this.reactions?.show(e.detail.participantId, e.detail.emoji));
    this.listen(c, 'audiolevels', (e) => {
      const loud = new Set(e.detail.levels.filter((/** @type {{level: number}} */ l) => l.level > 40).map((/** @type {{participant_id: string}} */ l) => l.participant_id));
      this.grid.paintSpeaking(loud);
    });
    this.listen(c, 'connectionstatechange', (e) => {
      const reason = /** @type {import('/sdk/convene.js').ReconnectReason | undefined} */ (e.detail.reason);
      if (e.detail.state === 'reconnecting') banner(RECONNECTING[reason || 'connection_lost'], true);
      else if (e.detail.state === 'connected') { banner(null); if (e.detail.previous === 'reconnecting') toast('Reconnected'); }
      else if (e.detail.state === 'disconnected') banner(null);
    });
    this.listen(c, 'mediastatechange', (e) => {
      if (c.state !== 'connected') return;
      if (e.detail.state === 'failed' || e.detail.state === 'disconnected') banner('Media connection interrupted — reconnecting…', false);
      else if (e.detail.state === 'connected') banner(null);
    });
    this.listen($('banner-retry'), 'click', () => { c.reconnectNow(); });
    this.listen($('banner-leave'), 'click', () => { c.leave(); });
    this.listen(c, 'error', (e) => {
      if (e.detail.code === 'rate_limited' && e.detail.request === 'send_reaction') this.reactions?.slowDown();
      else if (e.detail.code === 'rate_limited' || e.detail.code === 'media_error') console.warn('convene:', e.detail);
      else if (e.detail.request === 'chat_send') toast(`Message not sent: ${e.detail.message}`);
    });

    this.listen($('c-mic'), 'click', () => this.toggleMic());
    this.listen($('c-cam'), 'click', () => this.toggleCam());
    this.listen($('c-screen'), 'click', () => this.toggleScreen());
    this.listen($('c-hand'), 'click', () => c.setHandRaised(!c.me?.hand_raised));
    this.listen($('c-layout'), 'click', () => { this.grid.toggleView(); this.paintControls(); this.grid.layout(); });
    this.listen($('c-chat'), 'click', () => this.openPanel(this.panel === 'chat' ? null : 'chat'));
    this.listen($('c-people'), 'click', () => this.openPanel(this.panel === 'people' ? null : 'people'));
    this.listen($('tab-chat'), 'click', () => this.openPanel('chat'));
    this.listen($('tab-people'), 'click', () => this.openPanel('people'));
    this.listen($('side-close'), 'click', () => this.openPanel(null));
    this.listen($('c-settings'), 'click', () => this.toggleSettings());
    this.listen($('c-leave'), 'click', () => c.leave());
    this.listen($('copy-link'), 'click', async () => {
      const url = `${location.origin}${roomPath(this.room)}`;
      try { await navigator.clipboard.writeText(url); toast(`Invite link copied: ${decodeURI(url)}`); } catch { prompt('Copy this link', url); }
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
    this.listen(/** @type {HTMLSelectElement} */ ($('m-speaker')), 'change', (e) => { this.audioOut.choose(e.target.value); });
    bindShortcuts(this);
    bindShareBar(this);
    this.listen(window, 'resize', () => this.grid.layout());
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
    this.reactions?.close(false);
    s.hidden = !s.hidden;
    $('c-settings').setAttribute('aria-expanded', String(!s.hidden));
    if (!s.hidden) await this.fillDevices();
  }

  async fillDevices() {
    const d = await listDevices();
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-audio')), d.audioinput, this.c.localTracks.microphone?.getSettings().deviceId, 'Microphone');
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-video')), d.videoinput, this.c.localTracks.camera?.getSettings().deviceId, 'Camera');
    this.audioOut.fill(d.audiooutput);
  }

  paintControls() {
    paintControls(this);
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
    this.grid.layout();
  }

  /** @param {RemoteTrack} rt @param {boolean} added */
  onTrack(rt, added) {
    this.grid.onTrack(rt, added);
    if (rt.kind === 'audio') {
      if (added) {
        const a = /** @type {HTMLAudioElement} */ (h('audio', { autoplay: '' }));
        a.srcObject = rt.stream;
        this.audioOut.apply(a);
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

  /** Bring tiles, the people list, the count and the controls in line with the client's state. */
  syncAll() {
    const c = this.c;
    this.grid.sync();
    renderPeople(c);
    const n = c.participants.size;
    $('m-count').textContent = `${n} ${n === 1 ? 'person' : 'people'}`;
    this.paintControls();
    paintShareBar(this);
    this.invite.paint();
    this.grid.paintSpeaker();
    this.grid.layout();
    this.quality.paintAll();
  }
}
