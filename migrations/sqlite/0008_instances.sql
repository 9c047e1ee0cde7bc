-- The running processes, each beating every few seconds (instances.heartbeat_seconds): an
-- email claimed by a process that stopped beating is taken over by another (decisions.md,
-- "Scale-out: crash takeover and roles"). Same shape as ../postgres/0008_instances.sql.
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
