// Convene web app: a popup menu (role="menu") opened from a button — the host's menus for a person and for
// the meeting. The arrow keys move along it, Enter runs an item, Escape closes it and gives the focus back
// to its button; Tab or a click elsewhere closes it.
import { h, menuKeys } from './dom.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {{ label: string, run: () => unknown, id: string, danger?: boolean }} MenuItem */

export class PopupMenu {
  /** @param {MeetingUI} ui @param {HTMLElement} el the menu's element (hidden, `role="menu"`) */
  constructor(ui, el) {
    this.ui = ui;
    this.el = el;
    /** @type {string | null} the `data-menu-key` of the button that opened it (that button may be redrawn meanwhile) */
    this.key = null;
    ui.listen(el, 'keydown', (e) => this.onKey(/** @type {KeyboardEvent} */ (e)));
    ui.listen(document, 'pointerdown', (e) => {
      const target = /** @type {Node} */ (e.target);
      if (!this.el.hidden && !this.el.contains(target) && !this.anchor()?.contains(target)) this.close(false);
    });
    ui.cleanup.push(() => this.close(false));
  }

  get open() {
    return !this.el.hidden;
  }

  /** The button that opened the menu, as drawn now. */
  anchor() {
    return this.key ? /** @type {HTMLElement | null} */ (document.querySelector(`[data-menu-key="${CSS.escape(this.key)}"]`)) : null;
  }

  /**
   * Opens the menu under (or above) `anchor`, which carries `data-menu-key`, with `items`; the first gets the focus.
   * @param {HTMLElement} anchor @param {string} label the menu's accessible name @param {MenuItem[]} items
   */
  show(anchor, label, items) {
    this.close(false);
    this.key = anchor.dataset.menuKey || null;
    this.el.setAttribute('aria-label', label);
    this.el.replaceChildren(...items.map((i) => {
      const b = h('button', { type: 'button', role: 'menuitem', class: i.danger ? 'danger' : '', 'data-action': i.id, text: i.label });
      b.addEventListener('click', () => { this.close(true); i.run(); });
      return b;
    }));
    this.el.hidden = false;
    anchor.setAttribute('aria-expanded', 'true');
    // Fixed, next to its button, inside the window (set through the CSSOM: the CSP refuses style attributes).
    const r = anchor.getBoundingClientRect();
    const m = this.el.getBoundingClientRect();
    const left = Math.max(8, Math.min(r.left, innerWidth - m.width - 8));
    const below = r.bottom + 4 + m.height <= innerHeight - 8;
    this.el.style.left = `${Math.round(left)}px`;
    this.el.style.top = `${Math.round(below ? r.bottom + 4 : Math.max(8, r.top - m.height - 4))}px`;
    /** @type {HTMLElement | null} */ (this.el.querySelector('button'))?.focus();
    this.ui.paintControls();
  }

  /** @param {boolean} refocus give the focus back to the menu's button */
  close(refocus) {
    if (this.el.hidden) return;
    this.el.hidden = true;
    const a = this.anchor();
    a?.setAttribute('aria-expanded', 'false');
    this.key = null;
    this.ui.paintControls();
    if (refocus) a?.focus();
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    menuKeys(e, this.el, (refocus) => this.close(refocus));
  }
}
