-- Roles, lobby and moderation. Booleans are BIGINT 0/1 on both databases, like users.is_admin.
ALTER TABLE planned_rooms ADD COLUMN lobby BIGINT NOT NULL DEFAULT 0;
-- Seconds an empty room stays open; NULL: the server's default.
ALTER TABLE planned_rooms ADD COLUMN empty_room_timeout_secs BIGINT;

-- Who, beside the owner, hosts a planned room. Written like planned_room_invites.
CREATE TABLE planned_room_co_hosts (
    room_id BIGINT NOT NULL REFERENCES planned_rooms (id),
    -- Normalised (trimmed, lower-cased) like users.name.
    email   TEXT   NOT NULL,
    PRIMARY KEY (room_id, email)
);

-- Who was removed from a meeting and may not come back to it.
CREATE TABLE meeting_bans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id     BIGINT NOT NULL REFERENCES meetings (id),
    participant_id TEXT   NOT NULL,
    user_id        BIGINT REFERENCES users (id),
    -- The `sub` of the access token the participant joined with, if any.
    identity       TEXT,
    display_name   TEXT   NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE INDEX meeting_bans_meeting_idx ON meeting_bans (meeting_id);

-- Every moderation action, in the order it was taken.
CREATE TABLE moderation_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id  BIGINT NOT NULL REFERENCES meetings (id),
    at          BIGINT NOT NULL,
    -- 'participant', 'user', 'api_key' or 'system'
    actor_kind  TEXT   NOT NULL,
    -- A participant id, a user id as text, or an API key id.
    actor_id    TEXT,
    actor_name  TEXT,
    -- 'mute', 'remove', 'lock', ...
    action      TEXT   NOT NULL,
    -- A participant id.
    target_id   TEXT,
    target_name TEXT,
    -- The source muted, the new role, ...
    detail      TEXT
);

CREATE INDEX moderation_audit_meeting_idx ON moderation_audit (meeting_id, id);
