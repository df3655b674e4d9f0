-- Rooms that a signed-in user made ahead of time, with who may enter them. A room without a row here
-- is an ad-hoc room: anyone with its link (when rooms.create_on_join is on).
CREATE TABLE planned_rooms (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT   NOT NULL UNIQUE,
    owner_id         BIGINT NOT NULL REFERENCES users (id),
    title            TEXT   NOT NULL,
    -- 'link' (anyone with the link), 'accounts' (any signed-in user), 'invited' (the owner and the
    -- emails in planned_room_invites)
    access           TEXT   NOT NULL,
    -- Argon2id PHC string; NULL: no password.
    password_hash    TEXT,
    max_participants BIGINT,
    starts_at        BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE INDEX planned_rooms_owner_idx ON planned_rooms (owner_id, created_at);

CREATE TABLE planned_room_invites (
    room_id BIGINT NOT NULL REFERENCES planned_rooms (id),
    -- Normalised (trimmed, lower-cased) like users.name.
    email   TEXT   NOT NULL,
    PRIMARY KEY (room_id, email)
);
