CREATE TABLE registration_rules (
    school_id BIGINT PRIMARY KEY REFERENCES schools(id),
    campus_cidrs TEXT NOT NULL,
    require_enrollment_code BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE enrollment_codes (
    code_hash TEXT PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
