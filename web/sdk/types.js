// Convene browser SDK: the shared JSDoc types (no runtime code). The public entry, convene.js, re-exports them.

/** @typedef {'microphone'|'camera'|'screen'|'screen_audio'} Source */
/** @typedef {'host'|'moderator'|'participant'|'viewer'} Role */
/** @typedef {'connecting'|'connected'|'reconnecting'|'disconnected'} ConnectionState */
/**
 * Why the client is reconnecting: the server said it is shutting down (`closing: server_shutdown`, or a
 * join refused with `server_draining`), or the connection dropped without a word.
 * @typedef {'server_restarting'|'connection_lost'} ReconnectReason
 */

/** One of the reactions the server accepts (`REACTIONS`, in reactions.js). @typedef {'👍'|'👏'|'😂'|'😮'|'❤️'|'🎉'} Reaction */

/**
 * @typedef {object} TrackInfo
 * @property {string} id
 * @property {'audio'|'video'} kind
 * @property {Source} source
 * @property {string[]} [rids]
 * @property {string} [mid]
 */

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} display_name
 * @property {Role} role
 * @property {boolean} mic_muted
 * @property {boolean} camera_muted
 * @property {boolean} hand_raised
 * @property {boolean} screen_sharing
 * @property {number} joined_at
 * @property {TrackInfo[]} tracks
 */

/**
 * @typedef {object} ChatMessage
 * @property {number} seq
 * @property {string} from
 * @property {string} from_name
 * @property {string} text
 * @property {number} sent_at
 * @property {string} [client_msg_id]
 */

/**
 * A remote track that arrived over the peer connection.
 * @typedef {object} RemoteTrack
 * @property {string} participantId
 * @property {string} trackId
 * @property {'audio'|'video'} kind
 * @property {Source} source
 * @property {string} mid
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream  a stream holding only `track`, ready for `srcObject`
 */

/**
 * One entry of a server `sdp_offer`'s `tracks`: what a receiving m-line carries.
 * @typedef {object} ServerTrack
 * @property {string} mid
 * @property {string} participant_id
 * @property {string} track_id
 * @property {'audio'|'video'} kind
 * @property {Source} source
 */

/**
 * Event details, by event name.
 * @typedef {object} ConveneEventMap
 * @property {{ state: ConnectionState, previous: ConnectionState, reason?: ReconnectReason }} connectionstatechange  `reason` with `reconnecting`
 * @property {{ participantId: string, resumed: boolean, participants: Participant[], chatHistory: ChatMessage[] }} joined
 * @property {{ participant: Participant }} participantjoined
 * @property {{ participant: Participant, reason: string }} participantleft
 * @property {{ participant: Participant, previous: Participant }} participantupdated
 * @property {RemoteTrack} trackadded
 * @property {RemoteTrack} trackremoved
 * @property {{ source: Source, track: MediaStreamTrack | null }} localtrackchanged
 * @property {{ message: ChatMessage, own: boolean }} chat
 * @property {{ participantId: string | null }} dominantspeaker
 * @property {{ levels: { participant_id: string, level: number }[] }} audiolevels
 * @property {{ code: string, message: string, request?: string, fatal: boolean }} error
 * @property {{ reason: string }} closed
 * @property {{ state: RTCPeerConnectionState }} mediastatechange
 * @property {{ participantId: string, emoji: Reaction, ts: number, own: boolean }} reaction  `ts`: server time (ms); `own`: yours, echoed by the server
 */

/**
 * @template {keyof ConveneEventMap} K
 * @typedef {CustomEvent<ConveneEventMap[K]>} ConveneEvent
 */

/**
 * @typedef {object} ConveneOptions
 * @property {string} room               room name: letters and digits of any script, `-` and `_` (see `canonicalRoomName`)
 * @property {string} displayName
 * @property {string} [url]              WebSocket URL; default: `/ws` on the page's host
 * @property {string} [accessToken]      an access token (JWT) from the developer's backend
 * @property {string} [password]         the meeting's password, for a meeting that has one
 * @property {string} [resumeToken]      from an earlier session (e.g. sessionStorage) to come back as the same participant
 * @property {boolean} [mic]             publish the microphone (default true)
 * @property {boolean} [camera]          publish the camera (default true)
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 * @property {MediaStreamTrack} [audioTrack]  use this track instead of opening the microphone
 * @property {MediaStreamTrack} [videoTrack]  use this track instead of opening the camera
 * @property {boolean} [simulcast]       camera simulcast with 3 layers (default true)
 * @property {number} [reconnectWindowMs] how long to keep trying to reconnect (default: the server's restart window, `restart_window_secs`)
 * @property {number} [connectTimeoutMs]  how long one connection attempt may take until `joined` (default 15000)
 * @property {number} [reconnectBackoffMaxMs] the longest wait between two reconnection attempts (default 5000; full jitter below it)
 */

export {};
