-- Accounts. `users.name` (unique since v1) holds the account's email, trimmed and lower-cased, so that
-- addresses are unique without regard to case.
ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;

-- Signed-in browsers. Only a hash of each session token is kept: a copy of the database signs no one in.
CREATE TABLE auth_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    token_hash   TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
