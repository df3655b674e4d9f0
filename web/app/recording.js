// Convene web app: recording — the "Recording" mark in the top bar for everyone while the meeting is
// recorded (and said aloud by screen readers when it starts and stops), the Start/Stop recording item of
// the host's menu (host-controls.js), and a notice when the server had to stop (disk full, a failure).
import { $, toast } from './dom.js';
import { t, liveText } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {import('/sdk/convene.js').Convene} Convene */

/** What is said when the server stopped a recording on its own. */
const STOPPED_BY_SERVER = {
  disk_full: () => t('recording.stopped_disk_full'),
  failed: () => t('recording.stopped_failed'),
};

export class RecordingUI {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.c = ui.c;
    ui.listen(ui.c, 'recordingchanged', (e) => this.onChanged(e.detail));
    ui.cleanup.push(() => { $('m-recording').hidden = true; liveText($('rec-live'), null); });
    this.paint();
  }

  /** @param {import('/sdk/convene.js').ConveneEventMap['recordingchanged']} d */
  onChanged(d) {
    this.paint();
    const reason = d.reason;
    if (d.recording) {
      liveText($('rec-live'), d.previous ? null : () => t('recording.started_live'));
    } else if (reason && Object.hasOwn(STOPPED_BY_SERVER, reason)) {
      const why = STOPPED_BY_SERVER[/** @type {keyof typeof STOPPED_BY_SERVER} */ (reason)];
      liveText($('rec-live'), why);
      toast(why, 10_000);
    } else {
      liveText($('rec-live'), () => t('recording.stopped_live'));
    }
  }

  paint() {
    $('m-recording').hidden = !this.c.recording;
  }
}

/** The host menu's item: start or stop, by the state now. @param {Convene} c @param {(went: boolean) => void} sent */
export function recordItem(c, sent) {
  return c.recording
    ? { id: 'record', label: t('recording.stop'), run: () => sent(c.stopRecording()) }
    : { id: 'record', label: t('recording.start'), run: () => sent(c.startRecording()) };
}
