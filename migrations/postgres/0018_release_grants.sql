-- Publishing releases (issue 16): which releases each order owns (the one it bought, and any
-- granted to it later when the merchant published a release to past buyers), which release
-- each of an order's files came from, and what publishing set on a release. Same text as
-- ../sqlite/0018_release_grants.sql.

-- One row per order item and release it owns. granted: FALSE for the release the item bought,
-- TRUE for one granted to it later by a publish (granted_at: when).
CREATE TABLE order_releases (
    order_id TEXT NOT NULL REFERENCES orders(id),
    item_position BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    release_number BIGINT NOT NULL,
    granted_at BIGINT NOT NULL,
    granted BOOLEAN NOT NULL,
    PRIMARY KEY (order_id, item_position, release_number)
);
CREATE INDEX order_releases_release ON order_releases(product_id, release_number);

-- Every existing item owns the release it bought, since it bought it.
INSERT INTO order_releases (order_id, item_position, product_id, release_number, granted_at, granted)
SELECT oi.order_id, oi.position, oi.product_id, oi.release_number, o.created_at, FALSE
FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE oi.release_number IS NOT NULL;

-- The release each order file came from (NULL: its item had no release).
ALTER TABLE order_files ADD COLUMN release_number BIGINT;
UPDATE order_files SET release_number = (SELECT oi.release_number FROM order_items oi
    WHERE oi.order_id = order_files.order_id AND oi.position = order_files.item_position);

-- Set when the merchant publishes the release: when, to whom (the audience's canonical
-- JSON: "future", "all", {"bought_after": "2026-01-31"}, {"releases_up_to": 3}), and how
-- many past orders it was granted to.
ALTER TABLE product_releases ADD COLUMN published_at BIGINT;
ALTER TABLE product_releases ADD COLUMN audience TEXT;
ALTER TABLE product_releases ADD COLUMN granted_orders BIGINT NOT NULL DEFAULT 0;
