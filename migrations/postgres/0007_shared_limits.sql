-- State every process behind a load balancer must share (issue 14).

-- Fixed-window attempt counters (sign-in forms, portal codes and tries, the test checkout):
-- one row per key, counted by one upsert per attempt; rows whose window ended are swept.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_ends_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_window_end ON rate_limits(window_ends_at);

-- The fingerprint (HMAC-SHA256 of a fixed label, never the key) of the signing key the
-- processes of this database use: a process with another key refuses to start.
CREATE TABLE signing_key_fingerprint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
