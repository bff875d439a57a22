-- A client's own refresh-token reuse window in seconds (NULL: the service's
-- refresh_reuse_grace_secs; 0: none). Public clients never get one.
ALTER TABLE clients ADD COLUMN refresh_reuse_grace_secs BIGINT;
