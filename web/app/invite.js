// Convene web app: the "invite others" card next to the stage while you are alone in the meeting: the
// meeting's link and a Copy button. It goes when someone joins and comes back when everyone has left.
import { $ } from './dom.js';
import { t, liveText } from './i18n.js';
import { roomPath } from './home.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** The meeting's link, percent-encoded (what is copied) and as people read it (what is shown). @param {string} room */
export function meetingLink(room) {
  const url = `${location.origin}${roomPath(room)}`;
  return { url, shown: decodeURI(url) };
}

export class InviteCard {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.copiedTimer = 0;
    ui.listen($('invite-copy'), 'click', () => this.copy());
    liveText($('invite-copy'), () => t('invite.copy'));
    ui.cleanup.push(() => { clearTimeout(this.copiedTimer); $('invite').hidden = true; liveText($('invite-hint'), null); });
  }

  /** Shows the card exactly while you are the only participant. @returns {boolean} whether it changed */
  paint() {
    const c = this.ui.c;
    const alone = c.state !== 'connecting' && c.state !== 'disconnected' && c.participants.size === 1 && c.participants.has(c.participantId || '');
    const card = $('invite');
    /** @type {HTMLInputElement} */ ($('invite-link')).value = meetingLink(this.ui.room).shown;
    if (card.hidden === !alone) return false;
    card.hidden = !alone;
    return true;
  }

  /** Copies the link; where the clipboard is refused, selects it for Ctrl+C instead. */
  async copy() {
    const { url } = meetingLink(this.ui.room);
    const input = /** @type {HTMLInputElement} */ ($('invite-link'));
    const button = $('invite-copy');
    try {
      await navigator.clipboard.writeText(url);
      liveText(button, () => t('invite.copied'));
      clearTimeout(this.copiedTimer);
      this.copiedTimer = window.setTimeout(() => { liveText(button, () => t('invite.copy')); }, 2000);
    } catch {
      input.focus();
      input.select();
      liveText($('invite-hint'), () => t('invite.copyFallback'));
    }
  }
}
