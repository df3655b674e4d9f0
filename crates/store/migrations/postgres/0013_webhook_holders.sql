-- Several nodes on one database: one node at a time takes an endpoint through the outbox, so that
-- no event is delivered twice. A node holds an endpoint until `held_until` (ms) and renews the hold
-- with each step; another takes it over only once the hold has run out.
ALTER TABLE webhook_endpoints ADD COLUMN held_by TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN held_until BIGINT NOT NULL DEFAULT 0;
