// Convene browser SDK: what the client does with each server message after `joined` (events about the
// others, chat, media negotiation, ...). The state lives on the client (convene.js).

import { isReaction } from './reactions.js';
import { applyOwnState, onModerated } from './moderation.js';
import { onLobbyUpdated, onMeetingUpdated } from './lobby.js';
import { onFileShared, onFileDeleted } from './files.js';
import { onRecordingStarted, onRecordingStopped } from './recording.js';

/** @typedef {import('./convene.js').Convene} Convene */

/** The messages of the host powers, the lobby, shared files and recording, handled in their own modules. @type {Record<string, (c: Convene, msg: any) => void>} */
const MODERATION = {
  moderated: onModerated, lobby_updated: onLobbyUpdated, meeting_updated: onMeetingUpdated,
  file_shared: onFileShared, file_deleted: onFileDeleted,
  recording_started: onRecordingStarted, recording_stopped: onRecordingStopped,
};

/** @param {Convene} c @param {any} msg */
export function onServerMessage(c, msg) {
  if (Object.hasOwn(MODERATION, msg.type)) { MODERATION[msg.type](c, msg); return; }
  switch (msg.type) {
    case 'participant_joined':
      c.participants.set(msg.participant.id, msg.participant);
      c._emit('participantjoined', { participant: msg.participant });
      break;
    case 'participant_updated': {
      const prev = c.participants.get(msg.participant.id) || msg.participant;
      c.participants.set(msg.participant.id, msg.participant);
      if (msg.participant.id === c.participantId) applyOwnState(c, prev); // a host mute or role: before the app repaints
      c._emit('participantupdated', { participant: msg.participant, previous: prev });
      break;
    }
    case 'participant_left': {
      const p = c.participants.get(msg.participant_id);
      c.participants.delete(msg.participant_id);
      c.quality.delete(msg.participant_id);
      for (const [mid, t] of c.remoteTracks) {
        if (t.participantId === msg.participant_id) c._subs.remove(mid);
      }
      if (p) c._emit('participantleft', { participant: p, reason: msg.reason });
      if (c.dominantSpeaker === msg.participant_id) c.dominantSpeaker = null;
      break;
    }
    case 'chat':
      if (!c.chat.some((m) => m.seq === msg.message.seq)) c.chat.push(msg.message);
      c._emit('chat', { message: msg.message, own: msg.message.from === c.participantId });
      break;
    case 'error':
      c._emit('error', { code: msg.code, message: msg.message, request: msg.request, fatal: false });
      break;
    case 'closing':
      if (msg.reason !== 'server_shutdown') c._shutdown(msg.reason); // final (left, removed, meeting_ended, denied)
      break;

    case 'sdp_answer':
      c._peer.onAnswer(msg.sdp);
      break;
    case 'sdp_offer':
      c._peer.onServerOffer(msg.sdp, msg.tracks || []);
      break;
    case 'ice_candidate':
      c._peer.addIceCandidate(msg);
      break;
    case 'track_published':
      if (msg.participant_id === c.participantId) c.ownTrackIds.set(msg.track.source, msg.track.id);
      break;
    case 'track_unpublished':
      for (const [mid, t] of c.remoteTracks) {
        if (t.trackId === msg.track_id) c._subs.remove(mid);
      }
      break;
    case 'dominant_speaker':
      c.dominantSpeaker = msg.participant_id ?? null;
      c._emit('dominantspeaker', { participantId: c.dominantSpeaker });
      break;
    case 'audio_levels':
      c._emit('audiolevels', { levels: msg.levels });
      break;
    case 'reaction':
      // Only the set this SDK knows is shown: a newer server's additions are skipped, not rendered raw.
      if (isReaction(msg.emoji)) {
        c._emit('reaction', { participantId: msg.participant_id, emoji: msg.emoji, ts: msg.ts, own: msg.participant_id === c.participantId });
      }
      break;
    case 'layers_unused':
      c._peer.onLayersUnused(msg.track_id, msg.rids);
      break;
    case 'media_reset':
      // The server dropped our media session (it heard nothing from us for too long): start over
      // with a fresh peer connection; signaling and identity are unaffected.
      c._peer.start();
      break;
    default:
      break; // unknown server messages are ignored (protocol: servers may add types)
  }
}
