-- Privacy rights: the time a user confirmed their age (never the birth date), account
-- tombstones, data exports, support requests with their messages, and audit entries made by
-- the service itself (the retention sweeper: `admin_id` NULL).

ALTER TABLE users ADD COLUMN age_confirmed_at INTEGER;
-- A deleted account keeps its id (the ledger and payments refer to it) and nothing else.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('running', 'ready', 'failed', 'expired')),
    storage_key TEXT NOT NULL,
    bytes INTEGER,
    error TEXT,
    -- Renewed as the ZIP is written; a running export whose heartbeat stops was interrupted.
    heartbeat_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    expires_at INTEGER
);
CREATE INDEX exports_user ON exports (user_id, created_at);
CREATE INDEX exports_expires ON exports (expires_at);

-- A request from a signed-in user (`user_id`) or a visitor (`email`).
CREATE TABLE support_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    category TEXT NOT NULL CHECK (category IN ('general', 'billing', 'data_access',
                                               'data_correction', 'data_deletion', 'abuse')),
    subject TEXT NOT NULL,
    task_id TEXT REFERENCES tasks (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'answered', 'closed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX support_requests_user ON support_requests (user_id, created_at);
CREATE INDEX support_requests_state ON support_requests (state, updated_at);

CREATE TABLE support_messages (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES support_requests (id) ON DELETE CASCADE,
    -- NULL for the requester; an administrator's id for a reply.
    admin_id TEXT REFERENCES users (id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX support_messages_request ON support_messages (request_id, created_at);

-- The audit log's `admin_id` may be NULL: an entry by the service itself. The table is
-- copied (SQLite cannot drop a NOT NULL), its entries in their order.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_id TEXT REFERENCES users (id),
    action TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO audit_log_new (admin_id, action, target_id, detail, created_at)
    SELECT admin_id, action, target_id, detail, created_at FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_created ON audit_log (created_at);
