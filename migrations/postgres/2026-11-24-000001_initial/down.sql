DROP TABLE refresh_tokens;
DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE users;
DROP TABLE schools;
