// Convene browser SDK: error classes and small helpers.

/** @typedef {import('./types.js').Source} Source */

/** A failure to get camera/microphone/screen; `name` is the DOMException's (NotAllowedError, NotFoundError...). */
export class MediaAccessError extends Error {
  /** @param {Source} source @param {unknown} cause */
  constructor(source, cause) {
    const e = /** @type {{name?: string, message?: string}} */ (cause || {});
    super(`${source}: ${e.message || e.name || 'unavailable'}`);
    this.source = source;
    this.name = e.name || 'MediaAccessError';
    this.denied = e.name === 'NotAllowedError' || e.name === 'SecurityError';
  }
}

/** A refused join (room_full, ...) or an unreachable server. */
export class JoinError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A readable random room name such as `brave-otters-sing-42`. */
export function randomRoomName() {
  const a = ['brave', 'calm', 'bright', 'eager', 'gentle', 'happy', 'jolly', 'kind', 'lively', 'merry', 'proud', 'quick', 'quiet', 'sunny', 'witty', 'bold'];
  const n = ['otters', 'foxes', 'owls', 'pandas', 'falcons', 'whales', 'tigers', 'koalas', 'ravens', 'dolphins', 'lynxes', 'herons'];
  const v = ['sing', 'dance', 'meet', 'plan', 'build', 'talk', 'think', 'write', 'draw', 'roam', 'jump', 'chat'];
  /** @param {string[]} l */
  const pick = (l) => l[Math.floor(Math.random() * l.length)];
  return `${pick(a)}-${pick(n)}-${pick(v)}-${Math.floor(Math.random() * 90 + 10)}`;
}
