DROP TABLE logout_messages;
DROP TABLE session_clients;
DROP INDEX sessions_school_cert;
ALTER TABLE sessions DROP COLUMN cert_sha256;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN ip;
ALTER TABLE clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
