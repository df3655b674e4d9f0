// The host's menus offer exactly what docs/protocol.md's table of roles allows (app/roles.js): a participant
// or viewer gets no menu at all, a co-host nothing on the host and no removal of a co-host, only the host
// changes roles, hands over the host role and ends the meeting. Pure node.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { personActions, meetingActions } from '../app/roles.js';

/** @typedef {import('../sdk/types.js').Participant} Participant */

/** @param {string} id @param {import('../sdk/types.js').Role} role @param {Partial<Participant>} [more] @returns {Participant} */
const person = (id, role, more = {}) => ({
  id, display_name: id, role, mic_muted: false, camera_muted: false, hand_raised: false, screen_sharing: false,
  joined_at: 0, tracks: [], host_muted: [], unmute_asked: [], ...more,
});

/** The kinds (with their source or role) of the actions, as short words. @param {ReturnType<typeof personActions>} list */
const words = (list) => list.map((a) => ('source' in a ? `${a.kind}:${a.source}` : 'role' in a ? `role:${a.role}` : a.kind));

it('a participant and a viewer moderate nobody', () => {
  for (const role of /** @type {const} */ (['participant', 'viewer'])) {
    const me = person('me', role);
    for (const other of ['host', 'co_host', 'participant', 'viewer']) {
      assert.deepEqual(personActions(me, person('x', /** @type {any} */ (other), { hand_raised: true, unmute_asked: ['microphone'], host_muted: ['microphone'] })), [], `${role} on ${other}`);
    }
    assert.deepEqual(meetingActions(role), []);
  }
});

it('nobody gets a menu for themselves', () => {
  const me = person('me', 'host');
  assert.deepEqual(personActions(me, me), []);
  assert.deepEqual(personActions(null, person('x', 'participant')), []);
});

it('the host may do everything to a participant, in menu order', () => {
  const host = person('h', 'host');
  assert.deepEqual(words(personActions(host, person('p', 'participant'))),
    ['mute:microphone', 'mute:camera', 'role:co_host', 'role:viewer', 'host', 'remove']);
  // What is already held muted is not offered again; what was asked back is; a raised hand may be lowered;
  // a screen being shared may be stopped.
  const asking = person('p', 'participant', { host_muted: ['microphone'], unmute_asked: ['microphone'], hand_raised: true, screen_sharing: true });
  assert.deepEqual(words(personActions(host, asking)),
    ['mute:camera', 'mute:screen', 'allow:microphone', 'lower_hand', 'role:co_host', 'role:viewer', 'host', 'remove']);
});

it('a viewer has nothing to mute and is not made host before it may publish', () => {
  assert.deepEqual(words(personActions(person('h', 'host'), person('v', 'viewer'))), ['role:co_host', 'role:participant', 'remove']);
  assert.deepEqual(words(personActions(person('c', 'co_host'), person('v', 'viewer'))), ['remove']);
});

it('a co-host acts on participants, not on the host; removes no co-host; changes no role', () => {
  const co = person('c', 'co_host');
  assert.deepEqual(personActions(co, person('h', 'host', { hand_raised: true })), []);
  assert.deepEqual(words(personActions(co, person('p', 'participant', { hand_raised: true }))), ['mute:microphone', 'mute:camera', 'lower_hand', 'remove']);
  assert.deepEqual(words(personActions(co, person('c2', 'co_host'))), ['mute:microphone', 'mute:camera']);
});

it('the meeting menu: the host ends the meeting, a co-host does not', () => {
  assert.deepEqual(meetingActions('host'), ['mute_all', 'lock', 'lobby', 'end']);
  assert.deepEqual(meetingActions('co_host'), ['mute_all', 'lock', 'lobby']);
});
