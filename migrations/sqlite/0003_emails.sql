-- Email outbox: one row per message to send, written in the same transaction as what caused it
-- (the purchase email with its order). The body is rendered when sending, from the order.
-- Same shape as ../postgres/0003_emails.sql.
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    -- 'purchase' (exactly one per order) or 'resend' (asked for by the merchant).
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    -- Filled in when the message is rendered for sending.
    subject TEXT NOT NULL DEFAULT '',
    -- 'queued', 'sending' (claimed by a worker until locked_until), 'sent', 'retrying', 'failed'.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- The lease of the worker sending it: past this time another worker may take it over.
    locked_until BIGINT,
    last_error TEXT,
    sent_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX emails_one_purchase_per_order ON emails(order_id) WHERE kind = 'purchase';
CREATE INDEX emails_due ON emails(status, next_attempt_at);
CREATE INDEX emails_order ON emails(order_id, created_at);
