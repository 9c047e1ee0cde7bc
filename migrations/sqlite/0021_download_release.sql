-- The download log says which release of its product a download served (issue 16): the
-- served file's release, from order_files.release_number. NULL for rows written before this
-- and for events that serve no file (an external link). Same text as
-- ../postgres/0021_download_release.sql.
ALTER TABLE download_events ADD COLUMN release_number BIGINT;
