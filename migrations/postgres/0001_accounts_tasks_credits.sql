-- Accounts, sessions, API keys, uploads, tasks, the credits ledger and usage events.
-- Times are Unix milliseconds; ids are random text. SQLite twin: ../sqlite/.

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
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    storage_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    created_at BIGINT NOT NULL
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
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    cost BIGINT NOT NULL,
    error TEXT,
    result TEXT,
    output_key TEXT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    request_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at);
CREATE INDEX tasks_status ON tasks (status, created_at);

CREATE TABLE ledger (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'reserve', 'capture', 'release', 'refund', 'adjustment')),
    -- Signed change to the spendable balance.
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    task_id TEXT REFERENCES tasks (id),
    admin_id TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);

CREATE TABLE usage_events (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    feature TEXT NOT NULL,
    mode TEXT,
    credits BIGINT NOT NULL DEFAULT 0,
    task_id TEXT,
    created_at BIGINT NOT NULL
);
