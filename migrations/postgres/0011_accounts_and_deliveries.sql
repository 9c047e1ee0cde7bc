-- Dashboard passwords reset by email, and the log of webhook deliveries (issue 15).
-- Same tables as ../sqlite/0011_accounts_and_deliveries.sql.

-- One row per "Forgot password?" for a known dashboard user. The link's token is never
-- stored: it is HMAC(server key, salt), so the outbox can put it in the email when it sends
-- it; token_hash (SHA-256 of the token) finds the row a link names. A reset works once, for
-- 30 minutes; using one, or changing the password, ends every other of the user's resets.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    user_id TEXT NOT NULL REFERENCES merchant_users(id),
    salt TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The outbox row carrying it.
    email_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id, created_at);
CREATE INDEX password_resets_email ON password_resets(email_id);

-- Every delivery to a shop's webhook endpoint, refused ones included: when, from which
-- provider, the event type when the body could be read, whether it verified (else why not),
-- and what it did. Trimmed hourly to the newest 1,000 per shop and 30 days.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    event_type TEXT,
    event_id TEXT,
    verified BOOLEAN NOT NULL,
    -- 'order_created', 'duplicate', 'unmatched', 'refund', 'ignored', 'test' or 'refused'.
    outcome TEXT NOT NULL,
    -- The refusal's reason, or what an unmatched or ignored event lacked.
    detail TEXT NOT NULL DEFAULT '',
    order_id TEXT
);
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries(merchant_id, received_at, id);
