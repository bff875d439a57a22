-- Sessions are pruned a day after they expire (soonest expired first).
CREATE INDEX sessions_expires ON sessions (expires_at);
