-- The Overview's "Getting started" list can be closed, and stays closed for the whole shop
-- (every user, every browser) until reopened (issue 15). One row per shop that closed it.
-- Same table as ../sqlite/0014_getting_started.sql.
CREATE TABLE getting_started_closed (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants(id),
    closed_at BIGINT NOT NULL
);
