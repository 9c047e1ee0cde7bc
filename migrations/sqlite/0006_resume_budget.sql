-- Bytes served to a capped order's file by ranges that did not count as a download (resumes,
-- split downloads) since its last counted download: past one copy's worth, a range counts
-- as a new download, or is refused once the count is used up (decisions.md).
ALTER TABLE order_files ADD COLUMN uncounted_bytes BIGINT NOT NULL DEFAULT 0;
