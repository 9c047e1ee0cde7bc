-- Core: merchants, their users and API keys, products with their delivery, uploaded files.
-- Times are unix milliseconds; ids are UUID text. Same shape as ../postgres/0001_core.sql.
CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    test_mode BOOLEAN NOT NULL DEFAULT FALSE,
    link_expiry_seconds BIGINT,
    max_downloads_per_file BIGINT,
    revoke_on_refund BOOLEAN NOT NULL DEFAULT FALSE,
    sender_name TEXT,
    sender_email TEXT,
    standard_webhook_secret TEXT NOT NULL,
    stripe_webhook_secret TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE merchant_users (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys(merchant_id);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    delivery_mode TEXT NOT NULL DEFAULT 'none',
    external_url TEXT,
    instructions TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_merchant ON products(merchant_id, created_at);

-- A merchant's own id for a product at a payment provider (e.g. Stripe's prod_…).
CREATE TABLE product_external_ids (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    PRIMARY KEY (merchant_id, provider, external_id)
);
CREATE INDEX product_external_ids_product ON product_external_ids(product_id);

-- An uploaded file: content-addressed per merchant, so the same bytes are one row and one object.
CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (merchant_id, sha256)
);
CREATE INDEX blobs_merchant ON blobs(merchant_id, created_at);

-- The files a product delivers, in order; at most 10 (checked by the domain, under a product lock).
CREATE TABLE product_files (
    product_id TEXT NOT NULL REFERENCES products(id),
    position BIGINT NOT NULL,
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    display_name TEXT NOT NULL,
    PRIMARY KEY (product_id, position)
);
CREATE INDEX product_files_blob ON product_files(blob_id);
