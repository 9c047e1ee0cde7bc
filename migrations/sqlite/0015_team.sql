-- Several people per shop (issue 15, item 4): each dashboard user has a role, and the owner
-- invites others by email. Same tables as ../postgres/0015_team.sql.

-- 'owner' (manages the team, API keys and payment secrets) or 'member' (everything else).
-- Every user so far created their shop: they are its owners.
ALTER TABLE merchant_users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';

-- One row per invite. As with password resets, the link's token is never stored: it is
-- HMAC(server key, salt), derived again when the outbox writes the email; token_hash (its
-- SHA-256) finds the row a link names. An invite works once, for 7 days, until accepted or
-- cancelled; one address has at most one open invite per shop.
CREATE TABLE team_invites (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    -- The invited address, normalized.
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    salt TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The outbox row carrying it.
    email_id TEXT NOT NULL,
    -- The merchant_users id of who invited (no reference: a removed member's invites stay).
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    -- The merchant_users id the invite became.
    accepted_user_id TEXT,
    -- Cancelled by the owner, or closed because it expired when the address was invited again.
    cancelled_at BIGINT
);
CREATE UNIQUE INDEX team_invites_open ON team_invites(merchant_id, email)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX team_invites_email ON team_invites(email_id);
