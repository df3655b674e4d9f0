// Convene web app: reactions. The control bar's button opens a row of emoji; choosing one sends it
// through the server, which passes it to everyone; each shows on the sender's tile for a few seconds
// (several stack). Keyboard: the arrow keys move along the row, Enter sends, Escape closes.
import { $, h, menuKeys, toast } from './dom.js';
import { t, onLanguageChange, liveText } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** How long a reaction stays on a tile (the CSS animation lasts as long). */
export const SHOW_MS = 3500;
/** At most this many on one tile at once: a burst does not bury the video. */
const MAX_ON_TILE = 5;

/** @typedef {import('/sdk/convene.js').Reaction} Reaction */

/** What a screen reader says for each reaction (the SDK's `REACTIONS`). @type {Record<Reaction, () => string>} */
const NAMES = {
  '👍': () => t('reaction.thumbsUp'),
  '👏': () => t('reaction.clap'),
  '😂': () => t('reaction.laugh'),
  '😮': () => t('reaction.surprised'),
  '❤️': () => t('reaction.love'),
  '🎉': () => t('reaction.party'),
};

/** @param {Reaction} emoji */
const nameOf = (emoji) => NAMES[emoji]();

export class Reactions {
  /** @param {MeetingUI} ui @param {readonly Reaction[]} allowed the reactions the server accepts, in order */
  constructor(ui, allowed) {
    this.ui = ui;
    this.allowed = allowed;
    this.menu = $('reactions');
    this.button = $('c-react');
    /** @type {Set<number>} */
    this.timers = new Set();
    this.render();
    ui.listen(this.button, 'click', () => (this.menu.hidden ? this.open() : this.close(true)));
    ui.listen(this.menu, 'keydown', (e) => this.onKey(/** @type {KeyboardEvent} */ (e)));
    ui.listen(document, 'pointerdown', (e) => {
      const target = /** @type {Node} */ (e.target);
      if (!this.menu.hidden && !this.menu.contains(target) && !this.button.contains(target)) this.close(false);
    });
    ui.cleanup.push(onLanguageChange(() => this.render()));
    ui.cleanup.push(() => { this.close(false); for (const x of this.timers) clearTimeout(x); this.timers.clear(); });
  }

  /** (Re)draws the row of emoji buttons, in the current language. */
  render() {
    this.menu.replaceChildren(...this.allowed.map((emoji) => {
      const b = h('button', { type: 'button', class: 'emoji', role: 'menuitem', 'data-emoji': emoji, 'aria-label': nameOf(emoji), title: nameOf(emoji), text: emoji });
      b.addEventListener('click', () => this.send(emoji));
      return b;
    }));
  }

  open() {
    $('settings').hidden = true;
    $('c-settings').setAttribute('aria-expanded', 'false');
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.ui.paintControls();
    /** @type {HTMLElement | null} */ (this.menu.querySelector('button'))?.focus();
  }

  /** @param {boolean} refocus give the focus back to the button (the menu had it) */
  close(refocus) {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    this.ui.paintControls();
    if (refocus) this.button.focus();
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    menuKeys(e, this.menu, (refocus) => this.close(refocus));
  }

  /** @param {Reaction} emoji */
  send(emoji) {
    // Not connected (reconnecting): the banner says why; this says the reaction went nowhere.
    if (!this.ui.c.sendReaction(emoji)) toast(() => t('reaction.failed'));
  }

  /**
   * Shows a reaction on the sender's camera tile (floating up, then gone), and says it to screen readers.
   * @param {string} participantId @param {Reaction} emoji
   */
  show(participantId, emoji) {
    const tile = this.ui.grid.tiles.get(`${participantId}:camera`);
    if (!tile) return;
    let box = tile.querySelector('.reactions');
    if (!box) { box = h('div', { class: 'reactions', 'aria-hidden': 'true' }); tile.append(box); }
    while (box.children.length >= MAX_ON_TILE) box.firstElementChild?.remove();
    const el = h('span', { class: 'reaction', 'data-emoji': emoji, text: emoji });
    // A small sideways offset, so that several at once are told apart.
    el.style.setProperty('--drift', `${Math.round(Math.random() * 24 - 12)}px`);
    box.append(el);
    const timer = window.setTimeout(() => { el.remove(); this.timers.delete(timer); }, SHOW_MS);
    this.timers.add(timer);
    const p = this.ui.c.participants.get(participantId);
    if (p) { const name = p.display_name; liveText($('reaction-live'), () => t('reaction.announce', { name, reaction: nameOf(emoji) })); }
  }

  /** A reaction the server refused for being too many too fast. */
  slowDown() {
    toast(() => t('reaction.rateLimited'));
  }
}
