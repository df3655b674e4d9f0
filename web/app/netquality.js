// Convene web app: connection quality. Each camera tile gets a small bars indicator (three levels, by
// colour and by text for screen readers) whose hover/focus panel shows the figures; and while your own
// connection has been bad for a few seconds, a notice says so (it goes as soon as it recovers). The
// levels come from the SDK's `qualitychange` events.
import { $, h } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */
/** @typedef {import('/sdk/convene.js').QualityInfo} QualityInfo */
/** @typedef {QualityInfo['level']} Level */
/** @typedef {QualityInfo['figures']} Figures */

/** How long your own connection must stay bad before the notice shows (a blip is not "unstable"). */
export const UNSTABLE_AFTER_MS = 3000;

const BARS = '<svg viewBox="0 0 16 16" aria-hidden="true" width="16" height="16"><rect class="b1" x="1" y="10" width="3.5" height="5" rx="1"/><rect class="b2" x="6.25" y="6" width="3.5" height="9" rx="1"/><rect class="b3" x="11.5" y="2" width="3.5" height="13" rx="1"/></svg>';

/** @param {Level} level */
function levelText(level) {
  return level === 'good' ? t('quality.good') : level === 'poor' ? t('quality.poor') : t('quality.bad');
}

/** The figures, one line each (those measured; for yourself, each direction's loss too). @param {Figures} f */
function figureLines(f) {
  /** @type {string[]} */
  const lines = [];
  const pct = (/** @type {number} */ x) => x.toFixed(1);
  if (typeof f.lossPct === 'number') lines.push(t('quality.loss', { value: pct(f.lossPct) }));
  if (typeof f.uplinkLossPct === 'number') lines.push(t('quality.uplink', { value: pct(f.uplinkLossPct) }));
  if (typeof f.downlinkLossPct === 'number') lines.push(t('quality.downlink', { value: pct(f.downlinkLossPct) }));
  if (typeof f.rttMs === 'number') lines.push(t('quality.rtt', { value: Math.round(f.rttMs) }));
  if (typeof f.fps === 'number') lines.push(t('quality.fps', { value: Math.round(f.fps) }));
  if (typeof f.jitterMs === 'number') lines.push(t('quality.jitter', { value: Math.round(f.jitterMs) }));
  return lines;
}

export class QualityView {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.badTimer = 0;
    ui.cleanup.push(() => { clearTimeout(this.badTimer); $('net-notice').hidden = true; });
  }

  /** A participant's level or figures changed (the SDK keeps the latest in `client.quality`). @param {QualityInfo} q */
  onChange(q) {
    this.paintTile(q.participantId);
    if (q.self) this.paintSelf(q.level);
  }

  /** The notice for yourself: shown after UNSTABLE_AFTER_MS of 'bad', hidden at once when it is not. @param {Level} level */
  paintSelf(level) {
    const notice = $('net-notice');
    if (level !== 'bad') {
      clearTimeout(this.badTimer);
      this.badTimer = 0;
      notice.hidden = true;
    } else if (notice.hidden && !this.badTimer) {
      this.badTimer = window.setTimeout(() => { this.badTimer = 0; notice.hidden = false; }, UNSTABLE_AFTER_MS);
    }
  }

  /** Repaints every tile (after the tiles changed, or the language). */
  paintAll() {
    for (const [key, tile] of this.ui.grid.tiles) if (key.endsWith(':camera')) this.paintInto(tile, this.ui.c.quality.get(tile.dataset.participantId || ''));
  }

  /** @param {string} participantId */
  paintTile(participantId) {
    const tile = this.ui.grid.tiles.get(`${participantId}:camera`);
    if (tile) this.paintInto(tile, this.ui.c.quality.get(participantId));
  }

  /** @param {HTMLElement} tile @param {QualityInfo | undefined} q */
  paintInto(tile, q) {
    let box = /** @type {HTMLElement | null} */ (tile.querySelector('.quality'));
    if (!q) { box?.remove(); delete tile.dataset.quality; return; }
    if (!box) {
      box = h('span', { class: 'quality', tabindex: '0', role: 'img' }, [h('span', { class: 'quality-panel', 'aria-hidden': 'true' })]);
      box.insertAdjacentHTML('afterbegin', BARS);
      tile.append(box);
    }
    const lines = figureLines(q.figures);
    tile.dataset.quality = q.level;
    box.dataset.level = q.level;
    box.setAttribute('aria-label', lines.length ? `${levelText(q.level)}. ${lines.join(', ')}` : levelText(q.level));
    const panel = /** @type {HTMLElement} */ (box.querySelector('.quality-panel'));
    panel.replaceChildren(h('strong', { text: levelText(q.level) }), ...lines.map((l) => h('span', { text: l })));
  }
}
