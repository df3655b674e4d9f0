-- Bytes every node of a cluster can read (shared files, their previews, compositions' videos):
-- a blob is written in chunks of a fixed size, then committed; only a committed blob is seen. A
-- single node keeps its blobs in a directory instead and leaves these tables empty.
CREATE TABLE blobs (
    blob_key TEXT PRIMARY KEY,
    size BIGINT NOT NULL DEFAULT 0,
    committed INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE blob_chunks (
    blob_key TEXT NOT NULL REFERENCES blobs(blob_key) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (blob_key, seq)
);
