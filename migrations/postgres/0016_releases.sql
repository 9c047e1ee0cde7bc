-- Releases (issue 16): every saved change to a product's delivery is numbered 1, 2, … per
-- product and kept, frozen; orders say which release they bought. Same tables as
-- ../sqlite/0016_releases.sql.

-- One row per release: the delivery as saved (mode, link and instructions, kept whatever the
-- mode, as the product keeps them). label and changelog are set when the merchant publishes
-- the release (a later step); until then they are NULL.
CREATE TABLE product_releases (
    product_id TEXT NOT NULL REFERENCES products(id),
    number BIGINT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    delivery_mode TEXT NOT NULL,
    external_url TEXT,
    instructions TEXT NOT NULL DEFAULT '',
    label TEXT,
    changelog TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (product_id, number)
);
CREATE INDEX product_releases_merchant ON product_releases(merchant_id, product_id);

-- The release's file list, each file's facts copied as orders copy them. A release's files
-- keep their blobs (the foreign key refuses deleting a blob a release holds).
CREATE TABLE release_files (
    product_id TEXT NOT NULL,
    release_number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    blob_id TEXT NOT NULL REFERENCES blobs(id),
    display_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    PRIMARY KEY (product_id, release_number, position),
    FOREIGN KEY (product_id, release_number) REFERENCES product_releases(product_id, number)
);
CREATE INDEX release_files_blob ON release_files(blob_id);

-- The release an order's item bought (NULL: its product had none, e.g. rows made by hand).
ALTER TABLE order_items ADD COLUMN release_number BIGINT;

-- Release 1 of every product with a delivery to keep: its delivery as it is now, at the time
-- it last changed. A product with nothing at all (a new draft) gets its first release with its
-- first save that sets something.
INSERT INTO product_releases (product_id, number, merchant_id, delivery_mode, external_url, instructions, created_at)
SELECT p.id, 1, p.merchant_id, p.delivery_mode, p.external_url, p.instructions, p.updated_at FROM products p
WHERE p.delivery_mode <> 'none' OR p.external_url IS NOT NULL OR p.instructions <> ''
   OR EXISTS (SELECT 1 FROM product_files pf WHERE pf.product_id = p.id);

INSERT INTO release_files (product_id, release_number, position, blob_id, display_name, size, content_type, sha256, storage_key)
SELECT pf.product_id, 1, pf.position, pf.blob_id, pf.display_name, b.size, b.content_type, b.sha256, b.storage_key
FROM product_files pf JOIN blobs b ON b.id = pf.blob_id;

-- Existing orders bought release 1 of their product; their own frozen files (order_files)
-- stay exactly as they are, so what they download does not change.
UPDATE order_items SET release_number = 1
WHERE EXISTS (SELECT 1 FROM product_releases r WHERE r.product_id = order_items.product_id AND r.number = 1);
