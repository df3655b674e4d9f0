// Convene browser SDK: performance marks of the join path (`convene:join`, `convene:ws-open`, ...), read by the
// join-time benchmark (web/bench/join-fast.js, docs/benchmarks.md). Only the first of each name is kept, so a
// long meeting's renegotiations and reconnections add nothing to the page's performance timeline.

/** @type {Set<string>} */
const seen = new Set();

/** Marks `convene:<name>` the first time it happens on this page. @param {string} name */
export function joinMark(name) {
  if (seen.has(name)) return;
  seen.add(name);
  globalThis.performance?.mark?.(`convene:${name}`);
}
