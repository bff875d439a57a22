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
    id TEXT PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_school_user ON sessions (school_id, user_id);
ALTER TABLE enrollment_codes DROP CONSTRAINT enrollment_codes_pkey;
ALTER TABLE enrollment_codes ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE enrollment_codes ADD CONSTRAINT enrollment_codes_code_hash UNIQUE (code_hash);
