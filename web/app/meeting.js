// Convene web app: the meeting screen — joining (and the messages when a join is refused), the end
// screen, and MeetingUI, which wires the client's events to the tiles, panels and controls.
import { Convene, listDevices, REACTIONS } from '/sdk/convene.js';
import { $, h, show, toast, fillSelect, deviceMessage, joinDevicesMessage } from './dom.js';
import { t, plural, liveText, onLanguageChange } from './i18n.js';
import { errorText } from './errors.js';
import { refusedScreen, closedScreen } from './ended.js';
import { TileGrid } from './tiles.js';
import { renderChat, appendChat } from './chat.js';
import { renderPeople } from './people.js';
import { paintControls } from './controls.js';
import { bindShortcuts } from './shortcuts.js';
import { InviteCard } from './invite.js';
import { bindShareBar, paintShareBar } from './share.js';
import { AudioOutput } from './audio-output.js';
import { Reactions } from './reactions.js';
import { QualityView } from './netquality.js';
import { initHome, showHomeError, roomPath } from './home.js';
import { Moderation } from './moderation.js';
import { publishMessage } from './hostmute.js';
import { FilesUI } from './files.js';
import { RecordingUI } from './recording.js';

/** @typedef {import('/sdk/convene.js').RemoteTrack} RemoteTrack */
/** @typedef {import('/sdk/convene.js').JoinError} JoinError */
/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */

/** What the banner says while the client reconnects, by reason. */
const RECONNECTING = {
  server_restarting: () => t('banner.server_restarting'),
  connection_lost: () => t('banner.connection_lost'),
};

/**
 * @param {string} room @param {string} name
 * @param {{mic: boolean, cam: boolean, audioDeviceId?: string, videoDeviceId?: string}} prefs
 * @param {MediaStreamTrack | null} audioTrack @param {MediaStreamTrack | null} videoTrack
 * @param {(field: 'name' | 'password', message: () => string) => void} onRefused the server refused the
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
    closedScreen(e.detail.reason, lastReason, client.reconnectWindowMs, room);
  });

  show('meeting');
  try {
    await client.join();
    sessionStorage.setItem(resumeKey, client.resumeToken || '');
  } catch (e) {
    ui.destroy();
    if (ended) return; // a reload that waited for the server and gave up: the end screen says so already
    const err = /** @type {JoinError} */ (e);
    if (err.code === 'left') return; // left while waiting in the lobby: `closed` shows the end screen
    if (err.code === 'meeting_ended') { closedScreen('meeting_ended', null, 0, room); return; } // ended while waiting
    if (err.code === 'invalid_display_name') { onRefused('name', () => t('error.invalid_display_name')); return; }
    if (err.code === 'password_required' || err.code === 'wrong_password') {
      sessionStorage.removeItem(passwordKey);
      onRefused('password', err.code === 'wrong_password' ? () => t('error.wrong_password') : () => t('error.password_required'));
      return;
    }
    if (err.code === 'invalid_room_name') { initHome(); showHomeError(() => t('error.invalid_room_name')); return; }
    refusedScreen(err.code, err.message, room);
    return;
  }
  // Several failures make one message (toasts replace each other), shown long enough to read.
  if (client.mediaErrors.length) toast(() => joinDevicesMessage(client.mediaErrors), 10_000);
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
 * The banner over the meeting: `text` (null hides it); `actions` shows "Try now" and "Leave".
 * @param {(() => string) | null} text @param {boolean} [actions]
 */
function banner(text, actions = false) {
  $('banner').hidden = text === null;
  liveText($('banner-text'), text);
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
    /** @type {'chat'|'people'|'files'|null} */
    this.panel = null;
    this.grid = new TileGrid(client, $('stage'), () => this.paintControls());
    /** @type {(() => void)[]} */
    this.cleanup = [];
    /** The server's last refusal of a chat message (the SDK's rejection carries no code). @type {{ code: string, message: string } | null} */
    this.chatRefusal = null;
    this.invite = new InviteCard(this);
    this.audioOut = new AudioOutput(() => this.audios.values());
    this.quality = new QualityView(this);
    this.reactions = new Reactions(this, REACTIONS);
    this.mod = new Moderation(this, room);
    this.files = new FilesUI(this);
    this.recording = new RecordingUI(this);
    $('m-room').textContent = room;
    this.bind();
    this.cleanup.push(onLanguageChange(() => this.relabel()));
    this.renderPeople();
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
      document.title = `${c.room} · ${t('app.name')}`;
      this.syncAll();
      renderChat(c);
      this.files.renderList();
    });
    this.listen(c, 'participantjoined', (e) => { const name = e.detail.participant.display_name; this.syncAll(); toast(() => t('meeting.joined', { name })); });
    this.listen(c, 'participantleft', (e) => { const name = e.detail.participant.display_name; this.syncAll(); toast(() => t('meeting.left', { name })); });
    this.listen(c, 'participantupdated', (e) => {
      const { participant: p, previous } = e.detail;
      if (p.hand_raised && !previous.hand_raised && p.id !== c.participantId) { const name = p.display_name; toast(() => t('meeting.raised_hand', { name })); }
      // A new connection-quality report alone changes no tile, list or control: the indicator follows
      // the SDK's `qualitychange` (it reads the report at its next sample).
      if (sameButQuality(p, previous)) return;
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
    this.listen(c, 'reaction', (e) => this.reactions.show(e.detail.participantId, e.detail.emoji));
    this.listen(c, 'audiolevels', (e) => {
      const loud = new Set(e.detail.levels.filter((/** @type {{level: number}} */ l) => l.level > 40).map((/** @type {{participant_id: string}} */ l) => l.participant_id));
      this.grid.paintSpeaking(loud);
    });
    this.listen(c, 'connectionstatechange', (e) => {
      const reason = /** @type {import('/sdk/convene.js').ReconnectReason | undefined} */ (e.detail.reason);
      if (e.detail.state === 'reconnecting') banner(RECONNECTING[reason || 'connection_lost'], true);
      else if (e.detail.state === 'connected') { banner(null); if (e.detail.previous === 'reconnecting') toast(() => t('meeting.reconnected')); }
      else if (e.detail.state === 'disconnected') banner(null);
    });
    this.listen(c, 'mediastatechange', (e) => {
      if (c.state !== 'connected') return;
      if (e.detail.state === 'failed' || e.detail.state === 'disconnected') banner(() => t('banner.media_interrupted'), false);
      else if (e.detail.state === 'connected') banner(null);
    });
    this.listen($('banner-retry'), 'click', () => { c.reconnectNow(); });
    this.listen($('banner-leave'), 'click', () => { c.leave(); });
    this.listen(c, 'error', (e) => {
      if (e.detail.code === 'rate_limited' && e.detail.request === 'send_reaction') this.reactions.slowDown();
      else if (e.detail.code === 'rate_limited' || e.detail.code === 'media_error') console.warn('convene:', e.detail);
      // sendChat() toasts on the rejection, which carries no code: keep the code for it.
      else if (e.detail.request === 'chat_send') this.chatRefusal = { code: e.detail.code, message: e.detail.message };
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
    this.listen($('tab-files'), 'click', () => this.openPanel('files'));
    this.listen($('side-close'), 'click', () => this.openPanel(null));
    this.listen($('c-settings'), 'click', () => this.toggleSettings());
    this.listen($('c-leave'), 'click', () => c.leave());
    this.listen($('copy-link'), 'click', async () => {
      const url = `${location.origin}${roomPath(this.room)}`;
      try { await navigator.clipboard.writeText(url); toast(() => t('meeting.link_copied', { url: decodeURI(url) })); } catch { prompt(t('meeting.copy_prompt'), url); }
    });
    this.listen($('chat-form'), 'submit', (e) => { e.preventDefault(); this.sendChat(); });
    this.listen(/** @type {HTMLSelectElement} */ ($('m-audio')), 'change', (e) => { const v = e.target.value; localStorage.setItem('convene:audioDevice', v); c.switchDevice('audioinput', v).catch((err) => toast(() => deviceMessage(err))); });
    this.listen(/** @type {HTMLSelectElement} */ ($('m-video')), 'change', (e) => { const v = e.target.value; localStorage.setItem('convene:videoDevice', v); c.switchDevice('videoinput', v).catch((err) => toast(() => deviceMessage(err))); });
    this.listen(/** @type {HTMLSelectElement} */ ($('m-speaker')), 'change', (e) => { this.audioOut.choose(e.target.value); });
    bindShortcuts(this);
    bindShareBar(this);
    this.listen(window, 'resize', () => this.grid.layout());
    this.listen(window, 'pagehide', () => { /* a reload resumes: do not send leave */ });
    if (navigator.mediaDevices) this.listen(navigator.mediaDevices, 'devicechange', () => this.fillDevices());
  }

  /** Sends what the chat field holds; a refusal puts it back, and says why. */
  sendChat() {
    const input = /** @type {HTMLInputElement} */ ($('chat-input'));
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    this.chatRefusal = null;
    this.c.sendChat(text).catch(() => {
      const why = this.chatRefusal;
      toast(() => t('chat.not_sent', { reason: why ? errorText(why.code, why.message) : t('chat.not_confirmed') }));
      input.value = text;
    });
  }

  async toggleMic() {
    try { await this.c.setMicEnabled(this.c.muted.mic); } catch (e) { toast(publishMessage(e)); }
    this.paintControls();
    this.syncAll();
  }

  async toggleCam() {
    try { await this.c.setCameraEnabled(this.c.muted.camera); } catch (e) { toast(publishMessage(e)); }
    this.paintControls();
    this.syncAll();
  }

  async toggleScreen() {
    try {
      if (this.c.localTracks.screen) await this.c.stopScreenShare();
      else await this.c.startScreenShare();
    } catch (e) {
      const err = /** @type {MediaAccessError} */ (e);
      if (!err.denied) toast(publishMessage(err));
    }
    this.paintControls();
  }

  async toggleSettings() {
    const s = $('settings');
    this.reactions.close(false);
    s.hidden = !s.hidden;
    $('c-settings').setAttribute('aria-expanded', String(!s.hidden));
    if (!s.hidden) await this.fillDevices();
  }

  async fillDevices() {
    const d = await listDevices();
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-audio')), d.audioinput, this.c.localTracks.microphone?.getSettings().deviceId, 'audioinput');
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-video')), d.videoinput, this.c.localTracks.camera?.getSettings().deviceId, 'videoinput');
    this.audioOut.fill(d.audiooutput);
  }

  /** After a language switch: every text the meeting screen makes itself, made again. */
  relabel() {
    const list = $('chat-list');
    const top = list.scrollTop;
    renderChat(this.c);
    list.scrollTop = top;
    this.files.renderList();
    this.syncAll();
    if (!$('settings').hidden) this.fillDevices();
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

  /** @param {'chat'|'people'|'files'|null} which */
  openPanel(which) {
    this.panel = which;
    $('side').hidden = !which;
    $('chat-panel').hidden = which !== 'chat';
    $('people-panel').hidden = which !== 'people';
    $('files-panel').hidden = which !== 'files';
    $('tab-files').setAttribute('aria-selected', String(which === 'files'));
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
    this.renderPeople();
    const n = c.participants.size;
    $('m-count').textContent = plural(n, { one: () => t('meeting.count_one', { n }), other: () => t('meeting.count_other', { n }) });
    this.paintControls();
    paintShareBar(this);
    this.invite.paint();
    this.grid.paintSpeaker();
    this.grid.layout();
    this.quality.paintAll();
    this.mod.paint();
    this.recording.paint();
  }

  /** The people list, with the host's menu on each row it applies to. */
  renderPeople() {
    renderPeople(this.c, (p) => this.mod.host.personExtras(p));
  }
}

/** Whether two states of a participant differ at most in `connection_quality`. @param {any} a @param {any} b */
function sameButQuality(a, b) {
  const { connection_quality: _qa, ...restA } = a;
  const { connection_quality: _qb, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}
