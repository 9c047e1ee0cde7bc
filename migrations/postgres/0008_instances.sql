-- The running processes, each beating every few seconds (instances.heartbeat_seconds): an
-- email claimed by a process that stopped beating is taken over by another (decisions.md,
-- "Scale-out: crash takeover and roles"). Same shape as ../sqlite/0008_instances.sql.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    -- 'all', 'web' or 'worker'.
    role TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
-- The instance sending the email (its last claimer, kept as history once it is done). No
-- foreign key: a dead instance's row is removed while its emails still name it.
ALTER TABLE emails ADD COLUMN claimed_by TEXT;
-- Every statement queueing emails tells the listening workers of every process (a web-only
-- process has none of its own to wake); delivered when the transaction commits.
CREATE FUNCTION satchel_emails_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('satchel_emails_queued', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER emails_queued AFTER INSERT ON emails FOR EACH STATEMENT EXECUTE FUNCTION satchel_emails_queued();
