-- Link-sharing brake (issue 17, item 2): the shop's policy, the networks each order's email link
-- was downloaded from, and the link's lock. Same as ../sqlite/0020_link_sharing.sql.

-- The policy: 'off' (the default: nothing is recorded), 'notify' (sharing.suspected goes out)
-- or 'lock' (the email link is locked too) once an order's link is downloaded from more than
-- sharing_max_networks distinct networks within sharing_window_hours.
ALTER TABLE merchants ADD COLUMN sharing_mode TEXT NOT NULL DEFAULT 'off';
ALTER TABLE merchants ADD COLUMN sharing_max_networks BIGINT NOT NULL DEFAULT 5;
ALTER TABLE merchants ADD COLUMN sharing_window_hours BIGINT NOT NULL DEFAULT 24;

-- link_locked_at is set while the email link is locked (the portal keeps working).
-- sharing_suspected_at is when sharing.suspected last went out (it goes out once per window).
-- sharing_reset_at: networks are counted from then on (the last unlock or new link).
ALTER TABLE orders ADD COLUMN link_locked_at BIGINT;
ALTER TABLE orders ADD COLUMN sharing_suspected_at BIGINT;
ALTER TABLE orders ADD COLUMN sharing_reset_at BIGINT;

-- One row per (order, network, user-agent family) that made a counted download through the
-- email link. network is the IPv4 /24 or IPv6 /48 as text ("203.0.113.0/24"). Bounded per
-- order by the service (the oldest row makes room), so a client cannot grow it.
CREATE TABLE link_networks (
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    agent TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    downloads BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (order_id, network, agent)
);
CREATE INDEX link_networks_recent ON link_networks(order_id, last_seen);
