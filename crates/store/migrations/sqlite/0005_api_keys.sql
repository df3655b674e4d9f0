-- API keys for programs (HTTP Basic `id:secret`). The secret is shown once and kept as an Argon2id
-- PHC string only.
CREATE TABLE api_keys (
    id          TEXT   PRIMARY KEY,
    secret_hash TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Records a user may read: the meetings they attended.
CREATE INDEX participant_sessions_user_idx ON participant_sessions (user_id);
