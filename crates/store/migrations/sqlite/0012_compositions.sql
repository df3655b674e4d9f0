-- Compositions: one video made afterwards from a meeting's recording (a grid of its video tracks,
-- its audio mixed), by ffmpeg on the node that was asked. The bytes live in the blob store.
CREATE TABLE compositions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- How the API names it: unguessable (the server makes it random), unique.
    public_id   TEXT   NOT NULL UNIQUE,
    meeting_id  BIGINT NOT NULL REFERENCES meetings (id),
    -- The recording composed: its public id. Not a foreign key: deleting a recording (or its
    -- retention) leaves the video made of it, which is a file of its own.
    recording   TEXT   NOT NULL,
    -- The node whose queue runs it: its restart fails what it left unfinished, nobody else's.
    node_id     TEXT   NOT NULL,
    -- queued | running | done | failed
    state       TEXT   NOT NULL,
    progress    BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    file_name   TEXT,
    blob_key    TEXT,
    bytes       BIGINT,
    duration_ms BIGINT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX compositions_meeting_idx ON compositions (meeting_id, id);
