// Convene web app: being host-muted — a notice ("Ada muted your microphone") with "Ask to unmute", which
// then says the hosts were asked; "You may unmute now" once one allows it; what the controls say when a
// host-muted (or, for a viewer, any) device is turned on. A host's other acts on you are told here too.
import { hostMuted } from '/sdk/convene.js';
import { $, toast, deviceMessage } from './dom.js';
import { t, liveText } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {import('/sdk/convene.js').Source} Source */
/** @typedef {import('/sdk/convene.js').Role} Role */
/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */

/** What the person is told when a device of theirs could not be turned on. @param {unknown} e @returns {() => string} */
export function publishMessage(e) {
  const err = /** @type {{ code?: string, source?: Source }} */ (e);
  if (err.code === 'forbidden') return () => t('hostmute.viewer_refused');
  if (err.code === 'muted_by_host') {
    if (err.source === 'camera') return () => t('hostmute.cam_refused');
    if (err.source === 'screen' || err.source === 'screen_audio') return () => t('hostmute.screen_refused');
    return () => t('hostmute.mic_refused');
  }
  const m = /** @type {MediaAccessError} */ (e);
  return () => deviceMessage(m);
}

export class HostMuteNotice {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.c = ui.c;
    /** @type {Map<Source, string | undefined>} who muted each source, by name (absent: the server or its API) */
    this.by = new Map();
    ui.listen(this.c, 'moderated', (e) => this.onModerated(e.detail));
    ui.listen(this.c, 'participantupdated', (e) => {
      if (e.detail.participant.id === this.c.participantId && e.detail.participant.role !== e.detail.previous.role) this.roleToast(e.detail.participant.role);
    });
    ui.listen($('mod-ask'), 'click', () => this.ask());
    ui.cleanup.push(() => { $('mod-notice').hidden = true; liveText($('mod-text'), null); });
  }

  /** @param {import('/sdk/convene.js').ConveneEventMap['moderated']} d */
  onModerated(d) {
    const name = d.byName;
    if (d.action === 'muted' && d.source) this.by.set(d.source, name);
    else if (d.action === 'unmute_allowed') {
      if (d.source === 'camera') toast(() => t('hostmute.cam_allowed'), 8000);
      else if (d.source === 'screen') toast(() => t('hostmute.screen_allowed'), 8000);
      else toast(() => t('hostmute.mic_allowed'), 8000);
    } else if (d.action === 'hand_lowered') {
      toast(name ? () => t('hostmute.hand_lowered_by', { name }) : () => t('hostmute.hand_lowered'));
    }
    this.paint();
  }

  /** My role changed (by a host, or because the host left). @param {Role} role */
  roleToast(role) {
    if (role === 'host') toast(() => t('hostmute.now_host'), 6000);
    else if (role === 'co_host') toast(() => t('hostmute.now_co_host'), 6000);
    else if (role === 'viewer') toast(() => t('hostmute.now_viewer'), 6000);
    else toast(() => t('hostmute.now_participant'), 6000);
  }

  /** The first source a host holds muted (the microphone first), or null. @returns {Source | null} */
  muted() {
    return /** @type {Source[]} */ (['microphone', 'camera', 'screen']).find((s) => hostMuted(this.c, s)) || null;
  }

  paint() {
    const s = this.muted();
    const notice = $('mod-notice');
    notice.hidden = !s;
    if (!s) { liveText($('mod-text'), null); return; }
    const name = this.by.get(s);
    const asked = (this.c.me?.unmute_asked || []).includes(s);
    /** @type {() => string} */
    let text;
    if (s === 'camera') text = name ? () => t('hostmute.cam_by', { name }) : () => t('hostmute.cam');
    else if (s === 'screen') text = name ? () => t('hostmute.screen_by', { name }) : () => t('hostmute.screen');
    else text = name ? () => t('hostmute.mic_by', { name }) : () => t('hostmute.mic');
    liveText($('mod-text'), asked ? () => `${text()} ${t('hostmute.asked')}` : text);
    $('mod-ask').hidden = asked;
    notice.dataset.source = s;
  }

  ask() {
    const s = this.muted();
    if (s && !this.c.askToUnmute(s)) toast(() => t('host.not_sent'));
  }
}
