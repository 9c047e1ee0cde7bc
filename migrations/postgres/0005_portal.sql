-- Customer portal: sign-in codes, sign-in emails in the outbox, the purchases page's index.
-- Same tables as ../sqlite/0005_portal.sql.

-- One row per "email me a code" for a known customer. Neither the 6-digit code nor the magic
-- link is stored: both are HMAC(server key, salt), so the server can put them in the email when
-- the outbox sends it, and a copy of the database alone gives neither. link_hash (SHA-256 of
-- the link's token) finds the row a magic link names.
CREATE TABLE sign_in_codes (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    salt TEXT NOT NULL,
    link_hash TEXT NOT NULL UNIQUE,
    -- The outbox row carrying it.
    email_id TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set when it signs someone in, or when a newer code replaces it.
    used_at BIGINT
);
CREATE INDEX sign_in_codes_customer ON sign_in_codes(customer_id, created_at);
CREATE INDEX sign_in_codes_email ON sign_in_codes(email_id);

-- Sign-in emails belong to no order: order_id becomes optional ('sign_in' emails have none).
ALTER TABLE emails ALTER COLUMN order_id DROP NOT NULL;

-- The purchases page reads a customer's orders newest first, 20 at a time, by (created_at, id).
CREATE INDEX orders_customer_page ON orders(customer_id, created_at, id);
