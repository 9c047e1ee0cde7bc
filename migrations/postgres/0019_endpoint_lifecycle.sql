-- Events out (issue 17): rotating an endpoint's secret, disabling endpoints that fail for days,
-- and the marks that keep some events from repeating. Same as ../sqlite/0019_endpoint_lifecycle.sql.

-- After a rotation the secret before it keeps signing (next to the new one) until
-- previous_secret_until, so the merchant's receiver can switch without losing an event.
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until BIGINT;
-- When the current run of failed attempts began (NULL: the last attempt succeeded, or none
-- failed yet); an endpoint failing for the configured window (3 days) is disabled.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;
-- Set when Satchel disabled the endpoint (enabled is then false); cleared when it is enabled.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at BIGINT;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;
-- The dashboard user who may see the secret once more (after creating or rotating it there,
-- on the page the form redirects to); cleared when shown.
ALTER TABLE webhook_endpoints ADD COLUMN secret_reveal_to TEXT;

-- The last time an event of a kind was queued about one order, for events sent at most once a
-- period (link.expired_hit: once a day per order, so a reload loop cannot flood endpoints).
CREATE TABLE event_marks (
    order_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (order_id, event_type)
);
