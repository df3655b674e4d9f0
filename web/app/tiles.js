// Convene web app: the video tiles on the stage — one per participant's camera and screen, their labels,
// and the layout (grid of the largest 16:9 tiles, or speaker view: one big tile and a strip).
import { h, icon, initials, hue } from './dom.js';
import { t } from './i18n.js';
import { pickMainTile, noteSpeaker } from './stage.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */
/** @typedef {import('/sdk/convene.js').Participant} Participant */
/** @typedef {import('/sdk/convene.js').RemoteTrack} RemoteTrack */

export class TileGrid {
  /**
   * @param {Convene} client
   * @param {HTMLElement} stage
   * @param {() => void} onViewChange called when a double-click pins a tile (the view button changes)
   */
  constructor(client, stage, onViewChange) {
    this.c = client;
    this.stage = stage;
    this.onViewChange = onViewChange;
    /** @type {Map<string, HTMLElement>} tile by key `${participantId}:${camera|screen}` */
    this.tiles = new Map();
    this.speakerView = false;
    this.autoSpeaker = false;
    /** @type {string | null} */
    this.pinned = null;
    /** @type {{ id: string, at: number }[]} who spoke recently (for speaker view) */
    this.recent = [];
    /** @type {string | null} the dominant speaker last noted in `recent` */
    this.noted = null;
    /** @type {((tile: HTMLElement, p: Participant, kind: 'camera'|'screen') => void) | null} adds to a painted tile (the host's menu) */
    this.decorate = null;
  }

  destroy() {
    this.stage.replaceChildren();
    this.tiles.clear();
  }

  /** The layout button: grid ↔ speaker view (unpins). */
  toggleView() {
    this.speakerView = !this.speakerView;
    this.autoSpeaker = false;
    this.pinned = null;
  }

  /** Like other meeting apps: a new screen share takes the stage (the layout button goes back to the grid). @param {RemoteTrack} rt @param {boolean} added */
  onTrack(rt, added) {
    if (added && rt.source === 'screen' && !this.speakerView) {
      this.speakerView = true;
      this.autoSpeaker = true;
    } else if (!added && rt.source === 'screen' && this.autoSpeaker) {
      this.speakerView = false;
      this.autoSpeaker = false;
    }
  }

  /** @param {string} pid @param {'camera'|'screen'} kind */
  tile(pid, kind) {
    const key = `${pid}:${kind}`;
    let t = this.tiles.get(key);
    if (!t) {
      const video = /** @type {HTMLVideoElement} */ (h('video', { autoplay: '', playsinline: '' }));
      video.muted = true;
      t = h('div', { class: `tile ${kind}`, 'data-participant-id': pid, 'data-source': kind, role: 'group' }, [
        h('div', { class: 'avatar', 'aria-hidden': 'true' }),
        video,
        h('div', { class: 'label' }, [h('span', { class: 'mic-state' }), h('span', { class: 'name' }), h('span', { class: 'hand' })]),
      ]);
      /** @type {HTMLElement} */ (t.querySelector('.hand')).innerHTML = icon('hand');
      t.addEventListener('dblclick', () => {
        this.pinned = this.pinned === key ? null : key;
        this.speakerView = !!this.pinned || this.speakerView;
        this.onViewChange();
        this.layout();
      });
      this.tiles.set(key, t);
      this.stage.append(t);
    }
    return t;
  }

  /** @param {string} key */
  removeTile(key) {
    const t = this.tiles.get(key);
    if (!t) return;
    const v = t.querySelector('video');
    if (v) { this.c.detachVideo(v); v.srcObject = null; }
    t.remove();
    this.tiles.delete(key);
  }

  /** Bring the tiles in line with the participants and tracks (no layout). */
  sync() {
    const c = this.c;
    const wanted = new Set();
    for (const p of c.participants.values()) {
      wanted.add(`${p.id}:camera`);
      const t = this.tile(p.id, 'camera');
      this.paintTile(t, p, 'camera');
      // Your own screen gets no tile: the sharing bar stands for it (no hall of mirrors).
      const screenRemote = [...c.remoteTracks.values()].find((r) => r.participantId === p.id && r.source === 'screen');
      if (screenRemote) {
        wanted.add(`${p.id}:screen`);
        this.paintTile(this.tile(p.id, 'screen'), p, 'screen');
      }
    }
    for (const key of [...this.tiles.keys()]) if (!wanted.has(key)) this.removeTile(key);
  }

  /** @param {HTMLElement} tile @param {Participant} p @param {'camera'|'screen'} kind */
  paintTile(tile, p, kind) {
    const c = this.c;
    const me = p.id === c.participantId;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    const name = me ? t('people.you', { name: p.display_name }) : p.display_name;
    const screen = t('tile.screen', { name: p.display_name });
    /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = kind === 'screen' ? screen : name;
    const states = [name, ...(p.mic_muted ? [t('tile.muted')] : []), ...(p.hand_raised ? [t('tile.hand')] : [])];
    tile.setAttribute('aria-label', kind === 'screen' ? screen : states.join(t('common.separator')));
    const hand = /** @type {HTMLElement} */ (tile.querySelector('.hand'));
    hand.title = t('state.hand_raised');
    hand.setAttribute('aria-label', t('state.hand_raised'));
    tile.dataset.micMuted = String(p.mic_muted);
    tile.dataset.hand = String(p.hand_raised);
    tile.dataset.name = p.display_name;
    tile.classList.toggle('me', me);
    const micEl = /** @type {HTMLElement} */ (tile.querySelector('.mic-state'));
    const showMuted = kind === 'camera' && p.mic_muted;
    micEl.innerHTML = showMuted ? icon('micOff') : '';
    if (showMuted) micEl.setAttribute('aria-label', t('state.mic_muted')); else micEl.removeAttribute('aria-label');
    hand.hidden = !(kind === 'camera' && p.hand_raised);
    const av = /** @type {HTMLElement} */ (tile.querySelector('.avatar'));
    av.textContent = initials(p.display_name);
    av.style.setProperty('--hue', String(hue(p.id)));
    /** @type {MediaStreamTrack | null | undefined} */
    let track = null;
    if (me) {
      track = kind === 'camera' ? (c.muted.camera ? null : c.localTracks.camera) : c.localTracks.screen;
      if (track) {
        if (!(video.srcObject instanceof MediaStream) || video.srcObject.getVideoTracks()[0] !== track) video.srcObject = new MediaStream([track]);
        video.classList.toggle('mirror', kind === 'camera');
      } else video.srcObject = null;
    } else {
      const rt = [...c.remoteTracks.values()].find((r) => r.participantId === p.id && r.kind === 'video' && r.source === kind);
      const show = rt && (kind === 'screen' || !p.camera_muted);
      if (rt && show) { c.attachVideo(video, rt); track = rt.track; }
      else { c.detachVideo(video); video.srcObject = null; }
    }
    tile.classList.toggle('has-video', !!track);
    this.decorate?.(tile, p, kind);
  }

  /** @param {Set<string>} loud participant ids speaking now */
  paintSpeaking(loud) {
    for (const [key, t] of this.tiles) t.classList.toggle('speaking', loud.has(key.split(':')[0]));
  }

  paintSpeaker() {
    const d = this.c.dominantSpeaker;
    if (d !== this.noted) { this.recent = noteSpeaker(this.recent, this.noted, d, Date.now()); this.noted = d; }
    for (const [key, t] of this.tiles) t.classList.toggle('dominant', key === `${d}:camera` && this.c.participants.size > 2);
    if (this.speakerView) this.layout();
  }

  /** Grid: columns and rows that give the largest 16:9 tiles; speaker view: one big + a strip. */
  layout() {
    const stage = this.stage;
    const tiles = [...this.tiles.entries()];
    if (!tiles.length) return;
    const rect = stage.getBoundingClientRect();
    const W = Math.max(rect.width, 1), H = Math.max(rect.height, 1);
    const gap = 8;
    let main = null;
    if (this.speakerView && tiles.length > 1) {
      const withVideo = new Set(tiles.filter(([k, t]) => k.endsWith(':camera') && t.classList.contains('has-video')).map(([, t]) => t.dataset.participantId || ''));
      main = pickMainTile({
        keys: tiles.map(([k]) => k), me: this.c.participantId, pinned: this.pinned,
        dominant: this.c.dominantSpeaker, recent: this.recent, withVideo, now: Date.now(),
      });
    }
    stage.classList.toggle('speaker', !!main);
    if (main) {
      const others = tiles.filter(([k]) => k !== main);
      const stripH = Math.min(H * 0.22, 140);
      const bigH = H - stripH - gap;
      for (const [k, t] of tiles) {
        if (k === main) {
          place(t, 0, 0, W, bigH);
        }
      }
      const tw = Math.min(stripH * 16 / 9, (W - gap * (others.length - 1)) / others.length);
      const startX = (W - (tw * others.length + gap * (others.length - 1))) / 2;
      others.forEach(([, t], i) => place(t, startX + i * (tw + gap), bigH + gap, tw, Math.min(stripH, tw * 9 / 16)));
    } else {
      const n = tiles.length;
      let best = { cols: 1, w: 0, h: 0 };
      for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        let w = (W - gap * (cols - 1)) / cols;
        let hh = w * 9 / 16;
        if (hh * rows + gap * (rows - 1) > H) { hh = (H - gap * (rows - 1)) / rows; w = hh * 16 / 9; }
        if (w > best.w) best = { cols, w, h: hh };
      }
      const rows = Math.ceil(n / best.cols);
      const totalH = rows * best.h + (rows - 1) * gap;
      tiles.forEach(([, t], i) => {
        const r = Math.floor(i / best.cols);
        const inRow = r === rows - 1 ? n - r * best.cols : best.cols;
        const rowW = inRow * best.w + (inRow - 1) * gap;
        const col = i - r * best.cols;
        place(t, (W - rowW) / 2 + col * (best.w + gap), (H - totalH) / 2 + r * (best.h + gap), best.w, best.h);
      });
    }
    /** @param {HTMLElement} t @param {number} x @param {number} y @param {number} w @param {number} hh */
    function place(t, x, y, w, hh) {
      t.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
      t.style.width = `${Math.round(w)}px`;
      t.style.height = `${Math.round(hh)}px`;
    }
    this.c.updateVideoSizes();
  }
}
