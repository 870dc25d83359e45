-- What the operators' console reads: every attempt of a job with its worker and error,
-- throughput figures on tasks, failed counts on workers, disabled accounts and the audit log
-- of admin actions. Indexes serve the console's windowed queries (see README, "Console").

CREATE TABLE job_attempts (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    worker_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    -- running, succeeded, failed, canceled, retry (a transient failure), released (shutdown)
    -- or lost (the lease expired and another claim took over).
    outcome TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (task_id, attempt)
);
CREATE INDEX job_attempts_worker ON job_attempts (worker_id, finished_at);

ALTER TABLE tasks ADD COLUMN megapixels DOUBLE PRECISION;
ALTER TABLE tasks ADD COLUMN triangles BIGINT;
ALTER TABLE tasks ADD COLUMN deleted_at BIGINT;
CREATE INDEX tasks_finished ON tasks (finished_at);
CREATE INDEX tasks_created ON tasks (created_at);
CREATE INDEX tasks_mode_created ON tasks (mode, created_at);
CREATE INDEX usage_events_created ON usage_events (created_at);

ALTER TABLE workers ADD COLUMN jobs_failed BIGINT NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN disabled_at BIGINT;

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    admin_id TEXT NOT NULL REFERENCES users (id),
    -- job.retry, job.cancel, job.delete, user.credits, user.disable, user.enable
    action TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
