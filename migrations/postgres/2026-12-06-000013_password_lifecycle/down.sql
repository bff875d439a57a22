DROP TABLE password_policies;
DROP TABLE password_history;
ALTER TABLE users DROP COLUMN password_changed_at;
ALTER TABLE users DROP COLUMN password_must_change;
