-- Sessions as the account page lists them: an id to end one by, when each was last seen, and
-- from which address and browser (cleared `client_info_days` after they were last seen).
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET id = substr(token_hash, 1, 16), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_id ON sessions (id);
CREATE INDEX sessions_seen ON sessions (last_seen_at);

-- An avatar uploaded to storage: its key (`avatar_url` then points at /api/v1/me/avatar).
ALTER TABLE users ADD COLUMN avatar_key TEXT;
