// Convene web app: the prejoin screen's camera preview, microphone meter and device controls. Devices open
// in the background (a permission prompt may stay open for long); every control works meanwhile, and the
// changes run one after another so that a join can wait for the ones under way.
import { getTrack, listDevices, meterLevel } from '/sdk/convene.js';
import { $, icon, fillSelect, deviceMessage } from './dom.js';
import { t, onLanguageChange } from './i18n.js';

/** @typedef {import('/sdk/convene.js').MediaAccessError} MediaAccessError */
/** @typedef {{mic: boolean, cam: boolean, audioDeviceId?: string, videoDeviceId?: string}} Prefs */

export class Preview {
  /** @param {Prefs} prefs @param {(message: () => string) => void} onError a device could not be opened (the text, in the current language) */
  constructor(prefs, onError) {
    this.prefs = prefs;
    this.onError = onError;
    /** @type {MediaStreamTrack | null} */ this.audio = null;
    /** @type {MediaStreamTrack | null} */ this.cam = null;
    /** @type {(() => void) | null} */ this.stopMeter = null;
    /** the device changes under way, one after another */
    this.devices = Promise.resolve();
    this.audioSel = /** @type {HTMLSelectElement} */ ($('pre-audio'));
    this.videoSel = /** @type {HTMLSelectElement} */ ($('pre-video'));
    this.video = /** @type {HTMLVideoElement} */ ($('preview-video'));
    /** @type {(HTMLButtonElement|HTMLSelectElement)[]} */
    this.controls = [$('pre-mic'), $('pre-cam'), this.audioSel, this.videoSel];
    /** stops repainting on language switches (once the join takes the tracks) */
    this.offLanguage = () => {};
  }

  /** Sets the handlers (replacing an earlier showing's) and starts opening the devices. */
  start() {
    const p = this.prefs;
    for (const b of ['pre-mic', 'pre-cam']) /** @type {HTMLButtonElement} */ ($(b)).disabled = false;
    $('pre-mic').onclick = () => { p.mic = !p.mic; this.paint(); this.serial(() => this.openAudio()); };
    $('pre-cam').onclick = () => { p.cam = !p.cam; this.paint(); this.serial(() => this.openVideo()); };
    this.audioSel.onchange = () => {
      p.audioDeviceId = this.audioSel.value;
      localStorage.setItem('convene:audioDevice', this.audioSel.value);
      this.serial(() => this.openAudio());
    };
    this.videoSel.onchange = () => {
      p.videoDeviceId = this.videoSel.value;
      localStorage.setItem('convene:videoDevice', this.videoSel.value);
      this.serial(() => this.openVideo());
    };
    this.paint();
    this.offLanguage();
    this.offLanguage = onLanguageChange(() => { this.paint(); this.serial(() => this.fillDevices()); });
    this.serial(async () => { await Promise.all([this.openAudio(), this.openVideo()]); await this.fillDevices(); });
  }

  /** @param {() => Promise<void>} fn */
  serial(fn) {
    this.devices = this.devices.then(fn).catch(() => {}).then(() => this.paint());
    return this.devices;
  }

  /**
   * For the join: waits for the device changes under way, then hands over the tracks that are on (and
   * stops those that are off). The controls rest, visibly, from now on.
   */
  async takeTracks() {
    for (const el of this.controls) el.disabled = true;
    this.offLanguage();
    await this.devices;
    this.stopMeter?.();
    const p = this.prefs;
    return { audio: p.mic ? this.audio : (this.audio?.stop(), null), cam: p.cam ? this.cam : (this.cam?.stop(), null) };
  }

  paint() {
    const p = this.prefs;
    const mb = $('pre-mic'), cb = $('pre-cam');
    mb.innerHTML = icon(p.mic ? 'mic' : 'micOff');
    mb.setAttribute('aria-pressed', String(p.mic));
    mb.setAttribute('aria-label', p.mic ? t('prejoin.mic_turn_off') : t('prejoin.mic_turn_on'));
    mb.classList.toggle('off', !p.mic);
    cb.innerHTML = icon(p.cam ? 'cam' : 'camOff');
    cb.setAttribute('aria-pressed', String(p.cam));
    cb.setAttribute('aria-label', p.cam ? t('prejoin.cam_turn_off') : t('prejoin.cam_turn_on'));
    cb.classList.toggle('off', !p.cam);
    $('preview-off').hidden = !!(p.cam && this.cam);
    this.video.hidden = !(p.cam && this.cam);
  }

  async openAudio() {
    this.stopMeter?.(); this.stopMeter = null; this.audio?.stop(); this.audio = null;
    if (!this.prefs.mic) { $('pre-meter').style.width = '0'; return; }
    try {
      this.audio = await getTrack('microphone', this.prefs.audioDeviceId);
      this.stopMeter = meterLevel(this.audio, (l) => { $('pre-meter').style.width = `${Math.round(l * 100)}%`; });
    } catch (e) {
      this.onError(() => deviceMessage(/** @type {MediaAccessError} */ (e)));
      this.prefs.mic = false;
    }
  }

  async openVideo() {
    this.cam?.stop(); this.cam = null;
    if (!this.prefs.cam) return;
    try {
      this.cam = await getTrack('camera', this.prefs.videoDeviceId);
      this.video.srcObject = new MediaStream([this.cam]);
    } catch (e) {
      this.onError(() => deviceMessage(/** @type {MediaAccessError} */ (e)));
      this.prefs.cam = false;
    }
  }

  async fillDevices() {
    const d = await listDevices();
    fillSelect(this.audioSel, d.audioinput, this.audio?.getSettings().deviceId || this.prefs.audioDeviceId, 'audioinput');
    fillSelect(this.videoSel, d.videoinput, this.cam?.getSettings().deviceId || this.prefs.videoDeviceId, 'videoinput');
  }
}
