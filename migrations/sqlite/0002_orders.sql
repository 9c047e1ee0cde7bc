-- Fulfilment: customers, orders with a frozen delivery, download log, payment events.
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (merchant_id, email)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    provider TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The link token is HMAC(server key, token_salt): re-derivable for "resend email",
    -- never stored itself; token_hash (its SHA-256) finds the order.
    token_salt TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The merchant's download policy in force at payment time.
    link_expires_at BIGINT,
    max_downloads_per_file BIGINT,
    created_at BIGINT NOT NULL,
    refunded_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (merchant_id, provider, payment_id)
);
CREATE INDEX orders_merchant ON orders(merchant_id, created_at);
CREATE INDEX orders_customer ON orders(customer_id, created_at);

-- One row per product bought, copied at payment time.
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders(id),
    position BIGINT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    product_name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    delivery_mode TEXT NOT NULL,
    external_url TEXT,
    instructions TEXT NOT NULL DEFAULT '',
    link_clicks BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, position)
);

-- One row per file delivered, numbered 1.. across the order, copied at payment time.
CREATE TABLE order_files (
    order_id TEXT NOT NULL REFERENCES orders(id),
    position BIGINT NOT NULL,
    item_position BIGINT NOT NULL,
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    display_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    download_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, position)
);
CREATE INDEX order_files_blob ON order_files(blob_id);

CREATE TABLE download_events (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    file_position BIGINT,
    item_position BIGINT,
    at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    status BIGINT NOT NULL,
    range_start BIGINT,
    bytes_requested BIGINT NOT NULL,
    counted BOOLEAN NOT NULL
);
CREATE INDEX download_events_order ON download_events(order_id, at);

-- Every verified webhook event, so retries are recognised and unmatched payments are kept.
CREATE TABLE payment_events (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payment_id TEXT,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    order_id TEXT REFERENCES orders(id),
    received_at BIGINT NOT NULL,
    UNIQUE (merchant_id, provider, event_id)
);
CREATE INDEX payment_events_status ON payment_events(merchant_id, status, received_at);

-- POST /api/v1/orders Idempotency-Key: same key and body give the same order.
CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, idempotency_key)
);
