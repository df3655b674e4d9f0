-- Webhooks: the outbox of events (written in the same transaction as the record each describes),
-- the endpoints they go to, each endpoint's place in the outbox, and the deliveries tried.

-- Every event, in the order it happened. `seq` counts 1, 2, 3, ... within a meeting.
CREATE TABLE webhook_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Public and unique: receivers deduplicate by it.
    event_id   TEXT   NOT NULL UNIQUE,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    seq        BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    -- The event's `data`, as JSON.
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (meeting_id, seq)
);

CREATE TABLE webhook_endpoints (
    id         TEXT   PRIMARY KEY,
    url        TEXT   NOT NULL,
    -- Kept as given: it signs each delivery (HMAC), so it cannot be stored hashed.
    secret     TEXT   NOT NULL,
    -- Comma-separated event kinds; empty: every kind.
    events     TEXT   NOT NULL,
    -- 1: from the configuration file (replaced at each start), 0: made through the API.
    from_config BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    -- The last event (webhook_events.id) this endpoint is done with: delivered, or given up on.
    -- A new endpoint starts at the outbox's end: it gets what happens from now on.
    done_through BIGINT NOT NULL DEFAULT 0,
    -- Failed attempts at the next event, and when to try again (ms since the epoch).
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    first_failed_at BIGINT
);

-- Every attempt, for the API's "last deliveries" and redelivery.
CREATE TABLE webhook_deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id TEXT   NOT NULL REFERENCES webhook_endpoints (id),
    event_row   BIGINT NOT NULL REFERENCES webhook_events (id),
    at          BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    -- The HTTP status; NULL when no answer came (refused, timed out).
    status      BIGINT,
    error       TEXT,
    ok          BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
