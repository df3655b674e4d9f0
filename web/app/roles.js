// Convene web app: what each role may do to whom — docs/protocol.md, *Roles and permissions*, as the app
// shows it (the server decides; the app only leaves out what it would refuse). No DOM: tests read it too.

/** @typedef {import('/sdk/convene.js').Role} Role */
/** @typedef {import('/sdk/convene.js').Participant} Participant */
/** @typedef {import('/sdk/convene.js').Source} Source */

/**
 * One thing a host or co-host can do to one person, as a menu item: `mute` (with `source`), `allow`
 * (unmute `source`, when they asked), `lower_hand`, `role` (with the new `role`), `host` (hand over the
 * host role), `remove`.
 * @typedef {{ kind: 'mute' | 'allow', source: Source } | { kind: 'lower_hand' | 'host' | 'remove' } | { kind: 'role', role: 'co_host' | 'participant' | 'viewer' }} PersonAction
 */

/** Host or co-host. @param {Role | undefined} role */
export const moderates = (role) => role === 'host' || role === 'co_host';

/**
 * What `me` may do to `target` now, in menu order; empty for oneself and for anyone a participant or
 * viewer looks at. A co-host may not act on the host, nor remove a co-host; only the host changes roles.
 * @param {Participant | null} me @param {Participant} target
 * @returns {PersonAction[]}
 */
export function personActions(me, target) {
  if (!me || me.id === target.id || !moderates(me.role)) return [];
  const host = me.role === 'host';
  if (!host && target.role === 'host') return [];
  /** @type {PersonAction[]} */
  const out = [];
  const muted = target.host_muted || [];
  const asked = target.unmute_asked || [];
  // A viewer sends nothing: there is nothing of it to mute.
  if (target.role !== 'viewer') {
    if (!muted.includes('microphone')) out.push({ kind: 'mute', source: 'microphone' });
    if (!muted.includes('camera')) out.push({ kind: 'mute', source: 'camera' });
    if (target.screen_sharing && !muted.includes('screen')) out.push({ kind: 'mute', source: 'screen' });
  }
  for (const source of asked) if (muted.includes(source)) out.push({ kind: 'allow', source });
  if (target.hand_raised) out.push({ kind: 'lower_hand' });
  if (host) {
    for (const role of /** @type {const} */ (['co_host', 'participant', 'viewer'])) {
      if (target.role !== role) out.push({ kind: 'role', role });
    }
    // The host role goes to someone who may publish (a viewer is made a participant first).
    if (target.role !== 'viewer') out.push({ kind: 'host' });
  }
  if (host || target.role !== 'co_host') out.push({ kind: 'remove' });
  return out;
}

/**
 * The meeting menu's items for `role`: hosts and co-hosts mute everyone, lock and run the lobby; only the
 * host ends the meeting for all.
 * @param {Role | undefined} role
 * @returns {('mute_all' | 'lock' | 'lobby' | 'end')[]}
 */
export function meetingActions(role) {
  if (!moderates(role)) return [];
  return role === 'host' ? ['mute_all', 'lock', 'lobby', 'end'] : ['mute_all', 'lock', 'lobby'];
}
