-- Files shared in a meeting. The bytes live in a blob store beside the database; a row names them.
CREATE TABLE meeting_files (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- How the API and the protocol name the file: unguessable (the server makes it random), unique.
    public_id      TEXT   NOT NULL UNIQUE,
    meeting_id     BIGINT NOT NULL REFERENCES meetings (id),
    session_id     BIGINT NOT NULL REFERENCES participant_sessions (id),
    -- Who shared it, as they were named then.
    participant_id TEXT   NOT NULL,
    display_name   TEXT   NOT NULL,
    -- Sanitised by the server (no path, no control characters, bounded).
    name           TEXT   NOT NULL,
    -- Sniffed from the bytes, never taken from the client.
    content_type   TEXT   NOT NULL,
    size           BIGINT NOT NULL,
    -- Hex SHA-256 of the bytes.
    sha256         TEXT   NOT NULL,
    blob_key       TEXT   NOT NULL,
    -- The server-made preview of an image, if any.
    preview_key    TEXT,
    width          BIGINT,
    height         BIGINT,
    created_at     BIGINT NOT NULL
);

CREATE INDEX meeting_files_meeting_idx ON meeting_files (meeting_id, id);
