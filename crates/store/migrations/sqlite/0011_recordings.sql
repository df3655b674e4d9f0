-- Recordings of meetings: each track to a file in a folder of its own (the files and their manifest
-- live on disk, beside the database; a row names the folder and sums it up).
CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- How the API names the recording: unguessable (the server makes it random), unique.
    public_id   TEXT   NOT NULL UNIQUE,
    meeting_id  BIGINT NOT NULL REFERENCES meetings (id),
    -- 'recording', 'complete', 'interrupted' (the process stopped before it finished), 'failed'
    state       TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    -- The folder, relative to the server's recording.dir.
    dir         TEXT   NOT NULL,
    -- The files' bytes and the recording's length, once it ended.
    bytes       BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT,
    -- The display name of who started it; NULL for the server (record on connect) or the REST API.
    started_by  TEXT
);

CREATE INDEX recordings_meeting_idx ON recordings (meeting_id, id);

-- A planned room's meetings are recorded from their start (Twilio's recordParticipantsOnConnect).
-- Booleans are BIGINT 0/1 on both databases.
ALTER TABLE planned_rooms ADD COLUMN record_on_connect BIGINT NOT NULL DEFAULT 0;
