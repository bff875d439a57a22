CREATE TABLE enrollment_codes_old (
    code_hash TEXT PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
INSERT INTO enrollment_codes_old SELECT code_hash, school_id, user_id, expires_at, used, created_at FROM enrollment_codes;
DROP TABLE enrollment_codes;
ALTER TABLE enrollment_codes_old RENAME TO enrollment_codes;
DROP TABLE sessions;
DROP TABLE school_roles;
DROP INDEX refresh_tokens_session;
ALTER TABLE refresh_tokens DROP COLUMN session_id;
ALTER TABLE clients DROP COLUMN min_acr;
ALTER TABLE clients DROP COLUMN default_acr_values;
ALTER TABLE clients DROP COLUMN allowed_scopes;
ALTER TABLE schools DROP COLUMN district;
