// Convene web app: which tile speaker view puts on the main stage. Pure (no DOM), so a unit test can
// pin the rules down: a pinned tile, else someone else's screen share, else the dominant speaker — unless
// their camera is off while another recent speaker's is on (a big avatar helps nobody when a face
// could be shown), else someone else's tile, video first.

/** How long after speaking someone still counts as a recent speaker. */
export const RECENT_SPEAKER_MS = 60_000;

/**
 * @typedef {object} StageInput
 * @property {string[]} keys        the tiles, `${participantId}:camera|screen`, in display order
 * @property {string | null} me     the local participant
 * @property {string | null} pinned a tile the user pinned (double-click)
 * @property {string | null} dominant the dominant speaker
 * @property {{ id: string, at: number }[]} recent  who was dominant speaker and until when, most recent first
 * @property {Set<string>} withVideo participants whose camera is shown
 * @property {number} now
 */

/** @param {StageInput} s @returns {string | null} the tile key for the main stage */
export function pickMainTile(s) {
  const has = new Set(s.keys);
  if (s.pinned && has.has(s.pinned)) return s.pinned;
  // A screen share keeps priority; your own is never your main stage (a hall of mirrors).
  const screen = s.keys.find((k) => k.endsWith(':screen') && !k.startsWith(`${s.me}:`));
  if (screen) return screen;
  const cam = (/** @type {string | null} */ id) => (id && id !== s.me && has.has(`${id}:camera`) ? `${id}:camera` : null);
  const d = cam(s.dominant);
  if (d && s.withVideo.has(/** @type {string} */ (s.dominant))) return d;
  // The dominant speaker shows no video: a recent speaker who does takes the stage instead.
  const withFace = s.recent.find((r) => s.now - r.at <= RECENT_SPEAKER_MS && r.id !== s.dominant && s.withVideo.has(r.id) && cam(r.id));
  if (withFace) return `${withFace.id}:camera`;
  if (d) return d;
  const others = s.keys.filter((k) => !k.startsWith(`${s.me}:`) && k.endsWith(':camera'));
  const face = others.find((k) => s.withVideo.has(k.slice(0, k.lastIndexOf(':'))));
  return face || others[0] || s.keys[0] || null;
}

/**
 * Records a dominant-speaker change from `from` to `to` in the recency list: `from` spoke until `now`,
 * `to` goes first; one entry per person, entries older than the window dropped.
 * @param {{ id: string, at: number }[]} recent @param {string | null} from @param {string | null} to
 * @param {number} now @returns {{ id: string, at: number }[]}
 */
export function noteSpeaker(recent, from, to, now) {
  const stamped = recent.map((r) => (r.id === from ? { id: r.id, at: now } : r));
  const kept = stamped.filter((r) => r.id !== to && now - r.at <= RECENT_SPEAKER_MS);
  return to ? [{ id: to, at: now }, ...kept] : kept;
}
