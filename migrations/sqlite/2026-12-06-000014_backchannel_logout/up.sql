-- Back-Channel Logout 1.0: where a client is told of a session's end, which clients got a
-- token in each session, what the session list shows (address, user agent, the card that
-- opened it), and the durable queue of logout tokens to deliver.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
-- SHA-256 (hex) of the certificate that opened or stepped up the session: unbinding it ends
-- the session and the refresh-token families issued in it.
ALTER TABLE sessions ADD COLUMN cert_sha256 TEXT;
CREATE INDEX sessions_school_cert ON sessions (school_id, cert_sha256);
CREATE TABLE session_clients (
    session_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    school_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE TABLE logout_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX logout_messages_next ON logout_messages (next_at);
