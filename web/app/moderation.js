// Convene web app: the meeting's moderation, put together — the host's controls (host-controls.js), the
// lobby on both sides (lobby.js), being host-muted (hostmute.js), and what is said when the meeting's
// settings change or a host power is refused.
import { toast } from './dom.js';
import { t } from './i18n.js';
import { errorText } from './errors.js';
import { HostControls } from './host-controls.js';
import { LobbyPanel, bindWaiting } from './lobby.js';
import { HostMuteNotice } from './hostmute.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** The messages of the host powers: a refusal of one is toasted (the SDK reports it as an `error` event). */
const HOST_REQUESTS = new Set([
  'mute_participant', 'mute_all', 'allow_unmute', 'ask_to_unmute', 'remove_participant', 'end_meeting', 'set_role',
  'transfer_host', 'lower_hand', 'set_locked', 'set_lobby', 'admit', 'deny', 'admit_all',
  'start_recording', 'stop_recording',
]);

export class Moderation {
  /** @param {MeetingUI} ui @param {string} room */
  constructor(ui, room) {
    const c = ui.c;
    this.host = new HostControls(ui);
    this.lobby = new LobbyPanel(ui);
    this.muted = new HostMuteNotice(ui);
    bindWaiting(ui, room);
    ui.listen(c, 'meetingupdated', (e) => {
      const { settings: s, previous: p } = e.detail;
      if (s.locked !== p.locked) toast(s.locked ? () => t('host.locked_toast') : () => t('host.unlocked_toast'));
      if (s.lobby !== p.lobby) toast(s.lobby ? () => t('host.lobby_on_toast') : () => t('host.lobby_off_toast'));
      ui.syncAll();
    });
    ui.listen(c, 'lobbyupdated', () => ui.paintControls());
    ui.listen(c, 'error', (e) => {
      const { code, message, request } = e.detail;
      if (request && HOST_REQUESTS.has(request)) toast(() => t('host.refused', { reason: errorText(code, message) }), 6000);
    });
  }

  /** After every change of the participants (MeetingUI.syncAll). */
  paint() {
    this.host.paint();
    this.lobby.paint();
    this.muted.paint();
  }
}
