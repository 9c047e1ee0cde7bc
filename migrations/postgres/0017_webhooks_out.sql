-- Events out (issue 17, item 1): a shop's own webhook endpoints, which Satchel signs events to
-- in the Standard Webhooks format. Same tables as ../sqlite/0017_webhooks_out.sql.

-- One row per endpoint; a shop has at most 10. The secret (`whsec_` + base64 of 24 random
-- bytes) is kept as it is, like merchants.standard_webhook_secret: it must sign every delivery,
-- so a hash would not do. It is shown once, when the endpoint is created.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    url TEXT NOT NULL,
    -- The subscribed event types, space-separated, in the order of the known list.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Off: nothing is queued for it (the merchant paused it).
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints(merchant_id, created_at);

-- The outbox: one row per (event, subscribed endpoint), written in the transaction of the
-- operation the event tells of. event_id (`evt_…`) is the `webhook-id` every attempt carries.
CREATE TABLE event_deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    event_type TEXT NOT NULL,
    -- The JSON body sent, fixed when the event happened.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 'pending', 'delivered' or 'failed' (gave up after the last retry).
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A worker holds the row until then while it sends (so two never send the same attempt).
    leased_until BIGINT,
    last_attempt_at BIGINT,
    last_response_status INTEGER,
    -- The first 1 KB of the endpoint's last answer (as text), to show in the deliveries log.
    last_response_body TEXT,
    last_error TEXT,
    delivered_at BIGINT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries(status, next_attempt_at);
CREATE INDEX event_deliveries_endpoint ON event_deliveries(endpoint_id, created_at);

-- Every statement queueing deliveries tells the listening delivery workers of every process (a
-- web-only process has none of its own to wake); sent when the transaction commits, and only
-- when rows were queued (an order at a shop without endpoints tells nobody).
CREATE FUNCTION satchel_events_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queued) THEN
        PERFORM pg_notify('satchel_events_queued', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_queued AFTER INSERT ON event_deliveries REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION satchel_events_queued();
