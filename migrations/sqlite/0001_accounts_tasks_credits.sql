-- Accounts, sessions, API keys, uploads, tasks, the credits ledger and usage events.
-- Times are Unix milliseconds; ids are random text. PostgreSQL's twin: ../postgres/.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    avatar_url TEXT,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    plan TEXT NOT NULL DEFAULT 'free',
    -- Kept equal to the sum of the user's ledger in the same transaction as each entry; the
    -- CHECK makes a negative balance impossible.
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    storage_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    upload_id TEXT NOT NULL REFERENCES uploads (id),
    mode TEXT NOT NULL,
    params TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    progress REAL NOT NULL DEFAULT 0,
    cost INTEGER NOT NULL,
    error TEXT,
    result TEXT,
    output_key TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    request_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at);
CREATE INDEX tasks_status ON tasks (status, created_at);

CREATE TABLE ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'reserve', 'capture', 'release', 'refund', 'adjustment')),
    -- Signed change to the spendable balance.
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    task_id TEXT REFERENCES tasks (id),
    admin_id TEXT REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);

CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    feature TEXT NOT NULL,
    mode TEXT,
    credits INTEGER NOT NULL DEFAULT 0,
    task_id TEXT,
    created_at INTEGER NOT NULL
);
