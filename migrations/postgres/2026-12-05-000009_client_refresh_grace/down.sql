ALTER TABLE clients DROP COLUMN refresh_reuse_grace_secs;
