// Convene browser SDK: the shared JSDoc types (no runtime code). The public entry, convene.js, re-exports them.

/** @typedef {'microphone'|'camera'|'screen'|'screen_audio'} Source */
/**
 * What a participant may do (docs/protocol.md, *Roles and permissions*): one `host`; `co_host`s moderate like
 * the host but cannot end the meeting, change roles or act on the host; a `viewer` publishes nothing.
 * @typedef {'host'|'co_host'|'participant'|'viewer'} Role
 */
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
 * @property {ReportedQuality | null} [connection_quality]  what its own client last reported; null until then
 * @property {Source[]} [host_muted]    sources a host or co-host muted: not forwarded, and it cannot unmute them until allowed
 * @property {Source[]} [unmute_asked]  host-muted sources it asked to unmute (`askToUnmute`), not yet allowed
 */

/**
 * Someone waiting in the lobby, as hosts and co-hosts see them (`client.waiting`, event `lobbyupdated`).
 * @typedef {object} LobbyEntry
 * @property {string} participant_id  the id they will have once admitted
 * @property {string} display_name
 * @property {boolean} signed_in      signed in to an account (or holding an access token), rather than a guest
 * @property {number} since           when they started waiting, ms since the Unix epoch
 */

/**
 * The meeting being recorded (`client.recording`; null when it is not).
 * @typedef {object} RecordingStatus
 * @property {number} since   when the recording started, ms since the Unix epoch
 * @property {string} [byName] who started it; absent when the meeting records on connect or the REST API started it
 */

/** Who may record (`joined.record_power`): nobody (the server does not record), hosts and co-hosts, or us whatever our role (a token's `record` grant). @typedef {'none' | 'moderator' | 'grant'} RecordPower */

/** Why a recording stopped: a host (or the REST API), the server's disk filled up, or writing failed. @typedef {'stopped' | 'disk_full' | 'failed'} RecordingStopReason */

/**
 * The meeting-wide settings a host changes while it runs (`client.settings`, event `meetingupdated`).
 * @typedef {object} MeetingSettings
 * @property {boolean} locked  nobody new gets in (hosts and co-hosts excepted)
 * @property {boolean} lobby   newcomers wait in the lobby until a host or co-host admits them
 */

/**
 * What a host or co-host did to you (event `moderated`): `muted` (`source`: you cannot unmute it until
 * allowed), `unmute_allowed` (you may unmute `source` again yourself), `hand_lowered`, `role_changed` (`role`).
 * @typedef {'muted'|'unmute_allowed'|'hand_lowered'|'role_changed'} ModerationAction
 */

/** @typedef {'good'|'poor'|'bad'} QualityLevel */

/**
 * A participant's connection as its own client reported it (the protocol's `connection_quality`).
 * @typedef {object} ReportedQuality
 * @property {QualityLevel} level
 * @property {number} loss_pct
 * @property {number} rtt_ms
 */

/**
 * Figures behind a quality level; null when not known (yet).
 * @typedef {object} QualityFigures
 * @property {number | null} lossPct   packets lost, % (self: the worse direction; remote: the worse of what it reports and what you receive from it)
 * @property {number | null} rttMs     round-trip time to the server (a remote's: what it reports)
 * @property {number} [fps]            remote: frames decoded per second of its video, when you receive it
 * @property {number} [jitterMs]       remote: jitter of its audio as you receive it
 * @property {number | null} [uplinkLossPct]    self: what the server loses of what you send
 * @property {number | null} [downlinkLossPct]  self: what you lose of what the server sends
 */

/**
 * The connection quality of one participant (`client.quality`, event `qualitychange`).
 * @typedef {object} QualityInfo
 * @property {string} participantId
 * @property {QualityLevel} level  remote: the worse of what it reports and what you receive from it
 * @property {QualityFigures} figures
 * @property {boolean} self
 * @property {{ level: QualityLevel, lossPct: number, rttMs: number } | null} reported  a remote's own report
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
 * A file shared in the meeting (`client.files`, events `fileshared`, `filedeleted`).
 * @typedef {object} SharedFile
 * @property {string} id
 * @property {string} name          sanitised by the server
 * @property {number} size          bytes
 * @property {string} content_type  sniffed by the server from the bytes
 * @property {string} from          the participant who shared it
 * @property {string} from_name
 * @property {number} shared_at     ms since the Unix epoch
 * @property {boolean} preview      whether `fileUrl(id, true)` has a small image of it
 * @property {number} [width]       an image's size in pixels
 * @property {number} [height]
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
 * @property {QualityInfo} qualitychange  a participant's level or figures changed (sampled every 2 s)
 * @property {{ participantId: string, hostPresent: boolean }} waitinginlobby  `join()` waits in the lobby (`hostPresent`: someone who can admit you is here)
 * @property {{ waiting: LobbyEntry[], added: LobbyEntry[] }} lobbyupdated  hosts and co-hosts: who waits now (`added`: who started waiting since the last update)
 * @property {{ settings: MeetingSettings, previous: MeetingSettings }} meetingupdated  the meeting was locked or unlocked, or its lobby turned on or off
 * @property {{ file: SharedFile, own: boolean }} fileshared  a file was shared (recorded by the server first)
 * @property {{ file: SharedFile }} filedeleted  a host or co-host deleted a file for everyone
 * @property {{ recording: RecordingStatus | null, previous: RecordingStatus | null, reason?: RecordingStopReason }} recordingchanged  the meeting started or stopped being recorded (`reason`: why it stopped)
 * @property {{ action: ModerationAction, source?: Source, role?: Role, byName?: string }} moderated  a host or co-host acted on you (`byName` absent: the REST API or the server)
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
