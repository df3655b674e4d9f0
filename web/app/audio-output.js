// Convene web app: the speaker the meeting plays through, where the browser can choose one
// (`HTMLMediaElement.setSinkId`; elsewhere the settings show no "Speaker" choice). The choice applies to
// every remote audio element, those created later included, and is remembered like the other devices.
import { $, toast, fillSelect } from './dom.js';
import { t } from './i18n.js';

const STORAGE_KEY = 'convene:audioOutput';

/** Whether this browser can send a media element's sound to a chosen output device. */
export const canChooseSpeaker = () => typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

export class AudioOutput {
  /** @param {() => Iterable<HTMLMediaElement>} elements the remote audio elements now */
  constructor(elements) {
    this.elements = elements;
    /** @type {string} the chosen device ('' = the system's default) */
    this.sinkId = canChooseSpeaker() ? localStorage.getItem(STORAGE_KEY) || '' : '';
    $('m-speaker-row').hidden = !canChooseSpeaker();
  }

  /** Sends a (new) element's sound to the chosen speaker. @param {HTMLMediaElement} el */
  async apply(el) {
    if (!this.sinkId || !canChooseSpeaker()) return;
    try {
      await el.setSinkId(this.sinkId);
    } catch (e) {
      // The remembered speaker is gone (unplugged): the default plays, and the list shows the default.
      console.warn('convene: speaker not available', this.sinkId, e);
    }
  }

  /** The user picked a speaker in the settings. @param {string} id */
  async choose(id) {
    this.sinkId = id;
    localStorage.setItem(STORAGE_KEY, id);
    try {
      await Promise.all([...this.elements()].map((el) => el.setSinkId(id)));
    } catch {
      toast(() => t('audio.failed'));
    }
  }

  /** Fills the settings' list. @param {MediaDeviceInfo[]} outputs */
  fill(outputs) {
    if (!canChooseSpeaker()) return;
    const current = outputs.some((d) => d.deviceId === this.sinkId) ? this.sinkId : outputs[0]?.deviceId;
    fillSelect(/** @type {HTMLSelectElement} */ ($('m-speaker')), outputs, current, 'audiooutput');
  }
}
