-- Text tasks need no upload (the bundled font), so a task's `upload_id` may be NULL; a font
-- upload's name and glyph count are kept as JSON in `font`, as a 3D file's description is in
-- `model`.

-- this dialect only: SQLite cannot drop a NOT NULL, so the table is copied. Other tables
-- reference it: migrations run with foreign keys off (`Db::migrate`), so the drop leaves their
-- rows, and the copy, renamed, is what they reference.
CREATE TABLE tasks_new (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    upload_id TEXT REFERENCES uploads (id),
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
    megapixels REAL,
    triangles INTEGER,
    deleted_at INTEGER,
    expired_at INTEGER,
    derived_from TEXT REFERENCES tasks (id) ON DELETE SET NULL,
    UNIQUE (user_id, idempotency_key)
);
INSERT INTO tasks_new (id, user_id, upload_id, mode, params, format, status, progress, cost,
                       error, result, output_key, cancel_requested, idempotency_key,
                       request_hash, attempts, created_at, started_at, finished_at, megapixels,
                       triangles, deleted_at, expired_at, derived_from)
    SELECT id, user_id, upload_id, mode, params, format, status, progress, cost, error, result,
           output_key, cancel_requested, idempotency_key, request_hash, attempts, created_at,
           started_at, finished_at, megapixels, triangles, deleted_at, expired_at, derived_from
    FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_user_created ON tasks (user_id, created_at);
CREATE INDEX tasks_status ON tasks (status, created_at);
CREATE INDEX tasks_finished ON tasks (finished_at);
CREATE INDEX tasks_created ON tasks (created_at);
CREATE INDEX tasks_mode_created ON tasks (mode, created_at);
CREATE INDEX tasks_derived_from ON tasks (derived_from);
-- both dialects again
CREATE INDEX tasks_upload ON tasks (upload_id);
ALTER TABLE uploads ADD COLUMN font TEXT;
