// Convene browser SDK: room and display names checked and canonicalised the way the server does, so that a
// page can show the name it will use (and why) before joining instead of learning it from a refusal.

/** The longest room name, in Unicode scalar values after normalisation (the server's limit). */
export const ROOM_NAME_MAX = 64;
/** The longest display name, in Unicode scalar values after trimming (the server's limit). */
export const DISPLAY_NAME_MAX = 64;

/**
 * What a room name may hold after normalisation: letters (with their combining marks: Devanagari's virama,
 * ...) and digits of any script, `-` and `_`. The server's test is stricter in corners (UTS #39's identifier
 * profile: no deprecated or obsolete characters); it names any character it refuses.
 */
const ROOM_CHAR = /^[\p{L}\p{M}\p{N}_-]$/u;

/**
 * @typedef {object} RoomNameResult
 * @property {string | null} name  the canonical name the server will use, or null when there is none
 * @property {boolean} changed     `name` differs from what was given (beyond surrounding spaces)
 * @property {boolean} lossy       more than case and compatibility forms changed: characters were dropped or replaced
 * @property {string[]} dropped    characters that are not allowed in a room name and were left out
 * @property {string} [error]      why there is no name
 */

/**
 * The canonical room name for what a user typed: NFKC, lower case (the full Unicode mapping, as the server
 * does), spaces become `-`, characters that a room name cannot hold are dropped and listed in `dropped` (so
 * the page can say so: never silently), and whatever precedes the first letter or digit is dropped. Names
 * mixing scripts are left for the server to judge (it answers `invalid_room_name`).
 * @param {string} raw
 * @returns {RoomNameResult}
 */
export function canonicalRoomName(raw) {
  const typed = raw.trim();
  // As the server: NFKC, full lower case, NFKC again (lower-casing can leave a string unnormalised).
  const folded = typed.normalize('NFKC').toLowerCase().normalize('NFKC');
  const spaced = folded.replace(/\s+/gu, '-');
  /** @type {string[]} */
  const dropped = [];
  let name = '';
  for (const ch of spaced) {
    if (ROOM_CHAR.test(ch)) name += ch;
    else if (!dropped.includes(ch)) dropped.push(ch);
  }
  // Names start with a letter or a digit; a dash left at the end by a trailing space goes too.
  name = name.replace(/^[^\p{L}\p{N}]+/u, '').replace(/-+$/u, '');
  const changed = name !== typed;
  const lossy = name !== folded;
  const length = [...name].length;
  if (!length) {
    const error = typed ? 'A meeting name needs at least one letter or digit.' : 'Enter a meeting name.';
    return { name: null, changed, lossy, dropped, error };
  }
  if (length > ROOM_NAME_MAX) {
    return { name: null, changed, lossy, dropped, error: `That meeting name has ${length} characters; the limit is ${ROOM_NAME_MAX}.` };
  }
  return { name, changed, lossy, dropped };
}

/** Characters that show nothing: a name made only of these (and spaces) is refused by the server. */
const INVISIBLE = /^[\s\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;

/**
 * A display name as the server will hold it (trimmed, inner whitespace collapsed), or why it is refused.
 * @param {string} raw
 * @returns {{ name: string, error?: string }}
 */
export function checkDisplayName(raw) {
  const name = raw.trim().replace(/\s+/gu, ' ');
  if (!name) return { name, error: 'Enter your name.' };
  if (/\p{Cc}/u.test(name)) return { name, error: 'Your name cannot contain control characters.' };
  if (INVISIBLE.test(name)) return { name, error: 'Your name needs at least one visible character.' };
  const length = [...name].length;
  if (length > DISPLAY_NAME_MAX) return { name, error: `Your name has ${length} characters; the limit is ${DISPLAY_NAME_MAX}.` };
  return { name };
}
