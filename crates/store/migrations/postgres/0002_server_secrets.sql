-- Keys the server signs with (resume tokens), shared by every process on this database so that a
-- token made before a restart, or on another node, still verifies.
CREATE TABLE server_secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
