-- A password set by someone else (the GM, the operator, onboarding's GM password) must be
-- changed at the account's next password login; when it last changed decides its age.
ALTER TABLE users ADD COLUMN password_must_change BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- The account's earlier passwords (argon2 PHC strings), newest last: a new password may not
-- be one of the last N (the school's password policy).
CREATE TABLE password_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL REFERENCES schools(id),
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, id);

-- A password stored before this was recorded is as old as its account.
UPDATE users SET password_changed_at = created_at WHERE password_hash IS NOT NULL;

-- A school's own password policy (JSON: the rules it sets; the district's configuration gives
-- the rest).
CREATE TABLE password_policies (
    school_id BIGINT PRIMARY KEY REFERENCES schools(id),
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
