-- Convene schema v1 (SQLite). Times are BIGINT milliseconds since the Unix epoch.
-- Keep in step with ../postgres/0001_init.sql: only the id columns differ.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    room             TEXT    NOT NULL,
    creator          TEXT,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    ended_at         BIGINT,
    max_participants BIGINT  NOT NULL,
    settings_json    TEXT    NOT NULL,
    node_id          TEXT    NOT NULL,
    last_seen_at     BIGINT  NOT NULL
);

-- Listing a room's meetings, newest first.
CREATE INDEX meetings_room_idx ON meetings (room, created_at);
-- Heartbeat and recovery touch only a node's open meetings.
CREATE INDEX meetings_open_by_node_idx ON meetings (node_id) WHERE ended_at IS NULL;

CREATE TABLE participant_sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id     BIGINT  NOT NULL REFERENCES meetings (id),
    participant_id TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    user_id        BIGINT  REFERENCES users (id),
    role           TEXT    NOT NULL,
    joined_at      BIGINT  NOT NULL,
    left_at        BIGINT,
    leave_reason   TEXT,
    node_id        TEXT    NOT NULL,
    last_seen_at   BIGINT  NOT NULL
);

CREATE INDEX participant_sessions_meeting_idx ON participant_sessions (meeting_id, joined_at);
CREATE INDEX participant_sessions_open_by_node_idx ON participant_sessions (node_id) WHERE left_at IS NULL;

CREATE TABLE chat_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    session_id BIGINT  NOT NULL REFERENCES participant_sessions (id),
    text       TEXT    NOT NULL,
    sent_at    BIGINT  NOT NULL,
    seq        BIGINT  NOT NULL,
    -- Also the index for history by (meeting_id, seq); guards the gapless sequence.
    CONSTRAINT chat_messages_meeting_seq_key UNIQUE (meeting_id, seq)
);
