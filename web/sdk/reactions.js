// Convene browser SDK: reactions. The server accepts exactly this set (crates/proto/src/reactions.rs,
// docs/protocol.md `send_reaction`; a Rust test checks that the two lists agree), in the order to show them.

/** @typedef {import('./types.js').Reaction} Reaction */

/** @type {readonly Reaction[]} */
export const REACTIONS = Object.freeze(['👍', '👏', '😂', '😮', '❤️', '🎉']);

/** Whether `value` is one of {@link REACTIONS}, exactly. @param {unknown} value @returns {value is Reaction} */
export function isReaction(value) {
  return typeof value === 'string' && /** @type {readonly string[]} */ (REACTIONS).includes(value);
}
