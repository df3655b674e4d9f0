// Convene web app: the host's controls — a menu for each person (from their row in the people list and
// from their tile: mute, allow to unmute, lower the hand, change the role, remove) and the meeting menu
// (mute everyone, start/stop recording, lock, lobby, end for all). Each shows only what the viewer's role allows (roles.js).
import { $, h, toast } from './dom.js';
import { t } from './i18n.js';
import { PopupMenu } from './menu.js';
import { confirmAction } from './confirm.js';
import { personActions, meetingActions, moderates } from './roles.js';
import { recordItem } from './recording.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {import('./menu.js').MenuItem} MenuItem */
/** @typedef {import('./roles.js').PersonAction} PersonAction */
/** @typedef {import('/sdk/convene.js').Participant} Participant */

export class HostControls {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.c = ui.c;
    this.person = new PopupMenu(ui, $('person-menu'));
    this.meeting = new PopupMenu(ui, $('host-menu'));
    /** @type {string | null} whose menu is open */
    this.target = null;
    ui.listen($('c-host'), 'click', () => (this.meeting.open ? this.meeting.close(true) : this.openMeeting()));
    ui.listen(this.c, 'participantupdated', (e) => this.onUpdated(e.detail.participant, e.detail.previous));
    ui.grid.decorate = (tile, p, kind) => this.decorateTile(tile, p, kind);
    ui.cleanup.push(() => { ui.grid.decorate = null; });
  }

  /** The host's menu button (and who asks to unmute) at the end of a person's row. @param {Participant} p */
  personExtras(p) {
    /** @type {Node[]} */
    const out = [];
    if (moderates(this.c.me?.role) && (p.unmute_asked || []).length) {
      out.push(h('span', { class: 'asks', text: t('host.asks_unmute') }));
    }
    if (personActions(this.c.me, p).length) out.push(this.menuButton(p, 'people'));
    return out;
  }

  /** @param {Participant} p @param {'people' | 'tile'} where */
  menuButton(p, where) {
    const name = p.display_name;
    const b = h('button', {
      type: 'button', class: `person-menu-btn ${where}`, 'data-menu-key': `${where}:${p.id}`, 'aria-haspopup': 'menu',
      'aria-expanded': String(this.person.open && this.person.key === `${where}:${p.id}`),
      'aria-label': t('host.actions_for', { name }), title: t('host.actions_for', { name }), text: '⋯',
    });
    b.addEventListener('dblclick', (e) => e.stopPropagation()); // no pinning of the tile
    b.addEventListener('click', (e) => {
      e.stopPropagation();
      if (this.person.open && this.person.key === b.dataset.menuKey) this.person.close(true);
      else this.openPerson(b, p.id);
    });
    return b;
  }

  /** A camera tile gets the menu button when its person has one. @param {HTMLElement} tile @param {Participant} p @param {'camera'|'screen'} kind */
  decorateTile(tile, p, kind) {
    const old = tile.querySelector('.person-menu-btn');
    const wanted = kind === 'camera' && personActions(this.c.me, p).length > 0;
    if (!wanted) { old?.remove(); return; }
    const name = p.display_name;
    if (old) { old.setAttribute('aria-label', t('host.actions_for', { name })); old.setAttribute('title', t('host.actions_for', { name })); return; }
    tile.append(this.menuButton(p, 'tile'));
  }

  /** @param {HTMLElement} anchor @param {string} id */
  openPerson(anchor, id) {
    const p = this.c.participants.get(id);
    if (!p) return;
    this.target = id;
    const name = p.display_name;
    const items = personActions(this.c.me, p).map((a) => this.item(a, p));
    // A message that could not go out (reconnecting) says so; the confirmed ones say it themselves.
    this.person.show(anchor, t('host.actions_for', { name }), items.map((i) => ({ ...i, run: () => { if (i.run() === false) this.sent(false); } })));
  }

  /** The menu item of one action on `p`. @param {PersonAction} a @param {Participant} p @returns {MenuItem} */
  item(a, p) {
    const c = this.c;
    const id = p.id;
    const name = p.display_name;
    switch (a.kind) {
      case 'mute':
        if (a.source === 'microphone') return { id: 'mute-microphone', label: t('host.mute_mic'), run: () => c.muteParticipant(id, 'microphone') };
        if (a.source === 'camera') return { id: 'mute-camera', label: t('host.mute_cam'), run: () => c.muteParticipant(id, 'camera') };
        return { id: 'mute-screen', label: t('host.mute_screen'), run: () => c.muteParticipant(id, 'screen') };
      case 'allow':
        if (a.source === 'microphone') return { id: 'allow-microphone', label: t('host.allow_mic'), run: () => c.allowUnmute(id, 'microphone') };
        if (a.source === 'camera') return { id: 'allow-camera', label: t('host.allow_cam'), run: () => c.allowUnmute(id, 'camera') };
        return { id: 'allow-screen', label: t('host.allow_screen'), run: () => c.allowUnmute(id, 'screen') };
      case 'lower_hand':
        return { id: 'lower-hand', label: t('host.lower_hand'), run: () => c.lowerHand(id) };
      case 'role':
        if (a.role === 'co_host') return { id: 'role-co_host', label: t('host.make_co_host'), run: () => c.setRole(id, 'co_host') };
        if (a.role === 'participant') return { id: 'role-participant', label: t('host.make_participant'), run: () => c.setRole(id, 'participant') };
        return { id: 'role-viewer', label: t('host.make_viewer'), run: () => c.setRole(id, 'viewer') };
      case 'host':
        return {
          id: 'make-host', label: t('host.make_host'),
          run: () => this.confirmed({ title: () => t('host.make_host_title', { name }), text: () => t('host.make_host_text', { name }), ok: () => t('host.make_host') }, () => c.transferHost(id)),
        };
      default:
        return {
          id: 'remove', label: t('host.remove'), danger: true,
          run: () => this.confirmed({ title: () => t('host.remove_title', { name }), text: () => t('host.remove_text', { name }), ok: () => t('host.remove_ok') }, () => c.removeParticipant(id)),
        };
    }
  }

  /**
   * Runs `act` once the person confirmed; says so when it could not go out (reconnecting).
   * @param {{ title: () => string, text: () => string, ok: () => string }} what @param {() => boolean} act
   */
  async confirmed(what, act) {
    if (await confirmAction(what)) this.sent(act());
  }

  /** @param {boolean} went whether the message went out */
  sent(went) {
    if (!went) toast(() => t('host.not_sent'));
  }

  openMeeting() {
    const c = this.c;
    const s = c.settings;
    /** @type {MenuItem[]} */
    const items = meetingActions(c.me?.role).map((a) => {
      if (a === 'mute_all') return { id: 'mute-all', label: t('host.mute_all'), run: () => this.sent(c.muteAll('microphone')) };
      if (a === 'lock') return { id: 'lock', label: s.locked ? t('host.unlock') : t('host.lock'), run: () => this.sent(c.setLocked(!s.locked)) };
      if (a === 'lobby') return { id: 'lobby', label: s.lobby ? t('host.lobby_off') : t('host.lobby_on'), run: () => this.sent(c.setLobby(!s.lobby)) };
      return {
        id: 'end', label: t('host.end'), danger: true,
        run: () => this.confirmed({ title: () => t('host.end_title'), text: () => t('host.end_text'), ok: () => t('host.end_ok') }, () => c.endMeeting()),
      };
    });
    // A `record` grant without a host's role gets a menu of that one item.
    if (c.mayRecord) items.splice(Math.min(1, items.length), 0, recordItem(c, (went) => this.sent(went)));
    this.meeting.show($('c-host'), t('host.menu'), items);
  }

  /** Someone asked to unmute, or I got or lost the host's powers. @param {Participant} p @param {Participant} previous */
  onUpdated(p, previous) {
    const asked = (p.unmute_asked || []).filter((s) => !(previous.unmute_asked || []).includes(s));
    if (asked.length && moderates(this.c.me?.role) && p.id !== this.c.participantId) {
      const name = p.display_name;
      toast(() => t('host.asked_toast', { name }), 6000);
    }
  }

  /** The meeting menu's button and the "locked" mark; a menu whose person is gone (or out of reach) closes. */
  paint() {
    const c = this.c;
    const b = $('c-host');
    b.hidden = meetingActions(c.me?.role).length === 0 && !c.mayRecord;
    $('m-locked').hidden = !c.settings.locked;
    if (b.hidden) this.meeting.close(false);
    const target = this.target ? c.participants.get(this.target) : null;
    if (this.person.open && (!target || !personActions(c.me, target).length)) this.person.close(false);
  }
}
