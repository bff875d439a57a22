-- The district tenant, client scopes and assurance levels, custom roles, a listable record of
-- browser sessions, refresh tokens tied to their session, and enrollment codes with an id.
ALTER TABLE schools ADD COLUMN district BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN allowed_scopes TEXT NOT NULL DEFAULT '["openid","profile","offline_access"]';
ALTER TABLE clients ADD COLUMN default_acr_values TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN min_acr TEXT;
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE TABLE school_roles (
    school_id BIGINT NOT NULL REFERENCES schools(id),
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, role)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_school_user ON sessions (school_id, user_id);
CREATE TABLE enrollment_codes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash TEXT NOT NULL UNIQUE,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
INSERT INTO enrollment_codes_new (code_hash, school_id, user_id, expires_at, used, created_at)
    SELECT code_hash, school_id, user_id, expires_at, used, created_at FROM enrollment_codes;
DROP TABLE enrollment_codes;
ALTER TABLE enrollment_codes_new RENAME TO enrollment_codes;
