// Convene browser SDK: the lobby and the meeting's settings (docs/protocol.md, *Lobby* and *Locked
// meetings*). A join may wait in the lobby (`waiting_in_lobby`) until a host or co-host admits it (`joined`
// follows) or turns it away (`denied`); hosts and co-hosts see who waits (`lobby_updated`). Everyone
// sees whether the meeting is locked and whether newcomers wait (`meeting_updated`).

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').LobbyEntry} LobbyEntry */
/** @typedef {import('./types.js').MeetingSettings} MeetingSettings */

/** @param {any} s @returns {MeetingSettings} */
const settingsOf = (s) => ({ locked: !!s?.locked, lobby: !!s?.lobby });

/** `waiting_in_lobby`, before `joined`: the join goes on, in the lobby. @param {Convene} c @param {any} msg */
export function onWaiting(c, msg) {
  c.inLobby = true;
  c.hostPresent = !!msg.host_present;
  c._emit('waitinginlobby', { participantId: msg.participant_id, hostPresent: c.hostPresent });
}

/** `joined` (also after a wait in the lobby): the settings, and for hosts and co-hosts who waits. @param {Convene} c @param {any} msg */
export function onJoinedLobby(c, msg) {
  c.inLobby = false;
  c.settings = settingsOf(msg.settings);
  setWaiting(c, Array.isArray(msg.waiting) ? msg.waiting : []);
}

/** `lobby_updated`. @param {Convene} c @param {any} msg */
export function onLobbyUpdated(c, msg) {
  setWaiting(c, Array.isArray(msg.waiting) ? msg.waiting : []);
}

/** `meeting_updated`. @param {Convene} c @param {any} msg */
export function onMeetingUpdated(c, msg) {
  const previous = c.settings;
  c.settings = settingsOf(msg.settings);
  c._emit('meetingupdated', { settings: c.settings, previous });
}

/**
 * Keeps the list and says who is new in it (the app chimes for them). A list equal to the one held (a
 * resume) is not reported again.
 * @param {Convene} c @param {LobbyEntry[]} waiting
 */
function setWaiting(c, waiting) {
  const before = new Set(c.waiting.map((w) => w.participant_id));
  const added = waiting.filter((w) => !before.has(w.participant_id));
  const same = !added.length && waiting.length === c.waiting.length;
  c.waiting = waiting;
  if (!same) c._emit('lobbyupdated', { waiting, added });
}
