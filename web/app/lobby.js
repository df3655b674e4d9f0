// Convene web app: the lobby on both sides — the waiting screen of someone no host has let in yet (with
// Leave), and for hosts and co-hosts the lobby panel: who waits (name, guest or signed in), Admit, Deny,
// Admit all, a count on its button, and a short sound when someone starts waiting.
import { $, h, show, toast } from './dom.js';
import { t, liveText } from './i18n.js';
import { moderates } from './roles.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {import('/sdk/convene.js').Convene} Convene */
/** @typedef {import('/sdk/convene.js').LobbyEntry} LobbyEntry */

/**
 * The waiting screen, for as long as `join()` waits in the lobby; the meeting shows once admitted.
 * @param {MeetingUI} ui @param {string} room
 */
export function bindWaiting(ui, room) {
  const c = ui.c;
  ui.listen(c, 'waitinginlobby', (e) => {
    show('waiting');
    $('waiting-room').textContent = room;
    liveText($('waiting-text'), e.detail.hostPresent ? () => t('lobby.host_present') : () => t('lobby.no_host'));
    $('waiting').dataset.hostPresent = String(e.detail.hostPresent);
  });
  ui.listen(c, 'joined', () => {
    if ($('waiting').hidden) return;
    show('meeting');
    ui.syncAll(); // the stage was hidden: lay it out now that it has a size
  });
  ui.listen($('waiting-leave'), 'click', () => { c.leave(); });
  ui.cleanup.push(() => liveText($('waiting-text'), null));
}

/** @type {AudioContext | null} */
let audio = null;

/** Two short soft tones (no sound file: WebAudio). Silent where the browser allows no sound yet. */
function chime() {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [660, 880].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      const at = now + i * 0.14;
      o.frequency.value = freq;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
      o.connect(g).connect(audio.destination);
      o.start(at);
      o.stop(at + 0.32);
    }
  } catch { /* no audio here: the toast and the badge still say it */ }
}

export class LobbyPanel {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.c = ui.c;
    this.panel = $('lobby-panel');
    this.button = $('c-lobby');
    ui.listen(this.button, 'click', () => (this.panel.hidden ? this.open() : this.close(true)));
    ui.listen($('lobby-admit-all'), 'click', () => this.sent(this.c.admitAll()));
    ui.listen($('lobby-close'), 'click', () => this.close(true));
    ui.listen(this.panel, 'keydown', (e) => {
      if (/** @type {KeyboardEvent} */ (e).key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      this.close(true);
    });
    ui.listen(this.c, 'lobbyupdated', (e) => this.onUpdated(e.detail.added));
    ui.cleanup.push(() => { this.panel.hidden = true; });
  }

  /** Someone started waiting: a sound and a toast for whoever can let them in. @param {LobbyEntry[]} added */
  onUpdated(added) {
    this.paint();
    if (!added.length || !moderates(this.c.me?.role)) return;
    chime();
    const n = added.length;
    const name = added[0].display_name;
    // Two or more is "other" in each of the app's languages.
    toast(n === 1 ? () => t('lobby.arrived', { name }) : () => t('lobby.arrived_many', { n }), 6000);
  }

  open() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.paint();
    this.ui.paintControls();
    /** @type {HTMLElement | null} */ (this.panel.querySelector('button'))?.focus();
  }

  /** @param {boolean} refocus */
  close(refocus) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    this.ui.paintControls();
    if (refocus) this.button.focus();
  }

  /** @param {boolean} went */
  sent(went) {
    if (!went) toast(() => t('host.not_sent'));
  }

  /** The button (hosts and co-hosts, while the lobby is on or someone waits), its count, and the list. */
  paint() {
    const c = this.c;
    const n = c.waiting.length;
    const shown = moderates(c.me?.role) && (c.settings.lobby || n > 0);
    this.button.hidden = !shown;
    if (!shown) this.close(false);
    const badge = $('lobby-count');
    badge.hidden = n === 0;
    badge.textContent = String(n);
    if (this.panel.hidden) return;
    $('lobby-empty').hidden = n > 0;
    $('lobby-admit-all').hidden = n < 2;
    const focused = document.activeElement?.closest('#lobby-list li')?.getAttribute('data-participant-id');
    $('lobby-list').replaceChildren(...c.waiting.map((w) => this.row(w)));
    // Keep the focus in the list when the row that had it went (admitted elsewhere).
    if (focused && !c.waiting.some((w) => w.participant_id === focused)) /** @type {HTMLElement | null} */ (this.panel.querySelector('button'))?.focus();
  }

  /** @param {LobbyEntry} w */
  row(w) {
    const name = w.display_name;
    const admit = h('button', { class: 'btn small primary', type: 'button', 'data-action': 'admit', 'aria-label': t('lobby.admit_name', { name }), text: t('lobby.admit') });
    const deny = h('button', { class: 'btn small', type: 'button', 'data-action': 'deny', 'aria-label': t('lobby.deny_name', { name }), text: t('lobby.deny') });
    admit.addEventListener('click', () => this.sent(this.c.admit(w.participant_id)));
    deny.addEventListener('click', () => this.sent(this.c.deny(w.participant_id)));
    return h('li', { 'data-participant-id': w.participant_id }, [
      h('span', { class: 'who' }, [
        h('span', { class: 'name', text: name }),
        h('span', { class: 'muted role', text: w.signed_in ? t('lobby.signed_in') : t('lobby.guest') }),
      ]),
      admit, deny,
    ]);
  }
}
