-- Signed-in people: merchant users on the dashboard and customers on the portal.
-- Only the SHA-256 of the cookie's secret is stored; expires_at rolls forward with use.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    -- merchant_users.id for kind 'merchant', customers.id for kind 'customer'.
    subject_id TEXT NOT NULL,
    -- Per-session token that dashboard forms echo back (CSRF).
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions(subject_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
