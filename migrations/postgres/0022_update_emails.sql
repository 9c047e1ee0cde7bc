-- Update emails (issue 16, item 3): the merchant's subject and message stored on the release,
-- one 'release_update' email per order and release (queued by the publish, in its
-- transaction), the throttle's record of when update emails were claimed, and which customers
-- unsubscribed from a shop's update emails. Same text as ../sqlite/0022_update_emails.sql.

-- The update email of a release (both NULL: the release was published without one).
ALTER TABLE product_releases ADD COLUMN email_subject TEXT;
ALTER TABLE product_releases ADD COLUMN email_message TEXT;

-- The release an update email announces (NULL for every other kind).
ALTER TABLE emails ADD COLUMN product_id TEXT;
ALTER TABLE emails ADD COLUMN release_number BIGINT;
-- When a worker last claimed the email: the throttle counts update emails claimed in the last
-- minute, across processes.
ALTER TABLE emails ADD COLUMN claimed_at BIGINT;
-- Exactly one update email per order and release, however often or concurrently queued.
CREATE UNIQUE INDEX emails_one_update_per_order_release ON emails(order_id, product_id, release_number)
    WHERE kind = 'release_update';
-- The two queues the worker claims from: update emails (throttled) and everything else, so a
-- backlog of the first never stands in front of a purchase or sign-in email.
CREATE INDEX emails_due_updates ON emails(status, next_attempt_at) WHERE kind = 'release_update';
CREATE INDEX emails_due_others ON emails(status, next_attempt_at) WHERE kind <> 'release_update';
CREATE INDEX emails_updates_claimed ON emails(claimed_at) WHERE kind = 'release_update';
CREATE INDEX emails_release ON emails(product_id, release_number) WHERE kind = 'release_update';

-- One row per customer (and so per shop: a customer row is one shop's) who was ever sent an
-- update email: the salt of the unsubscribe link's token (HMAC under the server's key, see
-- LinkToken), the token's SHA-256 to find the row, and since when they are unsubscribed
-- (NULL: subscribed).
CREATE TABLE update_email_subscriptions (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    token_salt TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    unsubscribed_at BIGINT,
    changed_at BIGINT NOT NULL
);
CREATE INDEX update_email_subscriptions_merchant ON update_email_subscriptions(merchant_id)
    WHERE unsubscribed_at IS NOT NULL;

-- A single row locked by whichever process claims update emails, so two processes cannot
-- both see room under the rate and together exceed it.
CREATE TABLE mail_throttle (
    name TEXT PRIMARY KEY,
    touched_at BIGINT NOT NULL
);
INSERT INTO mail_throttle (name, touched_at) VALUES ('release_update', 0);
