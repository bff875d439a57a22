CREATE TABLE cert_bindings (
    id BIGSERIAL PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    cert_sha256 TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    issuer_dn TEXT NOT NULL,
    subject_cn TEXT NOT NULL,
    not_after TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (school_id, cert_sha256)
);
CREATE INDEX cert_bindings_user ON cert_bindings (school_id, user_id);
