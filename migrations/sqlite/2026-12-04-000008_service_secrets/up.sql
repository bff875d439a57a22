-- Secrets of the service itself, made once and shared by every replica: the key that signs
-- device cookies (a browser that logged in to an account before).
CREATE TABLE service_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
