CREATE TABLE login_policies (
    school_id BIGINT NOT NULL REFERENCES schools(id),
    role TEXT NOT NULL,
    methods TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, role)
);
