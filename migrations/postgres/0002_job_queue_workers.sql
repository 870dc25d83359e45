-- The job queue and the worker registry. A job is the hot, short-lived queue entry of a task;
-- finished jobs are pruned after a while, their task and ledger rows stay.
-- Times here come from the database's clock (Unix milliseconds), so that hosts whose clocks
-- disagree still agree on when a lease ends.

CREATE TABLE jobs (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    -- Smaller runs first: 0 for paid plans, 1 for free; then first in, first out.
    priority BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    -- Incremented by every claim; the fencing token a worker must present to finish the job.
    attempt BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    -- Not claimed before this time (retry backoff).
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    last_error TEXT,
    enqueued_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs (priority, enqueued_at, task_id) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'done';

-- Tasks queued or running before the queue existed.
INSERT INTO jobs (task_id, priority, state, attempt, max_attempts, run_after, enqueued_at)
SELECT id, 1, 'queued', attempts, 5, 0, created_at FROM tasks WHERE status IN ('queued', 'running');
UPDATE tasks SET status = 'queued' WHERE status = 'running';

CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid BIGINT NOT NULL,
    version TEXT NOT NULL,
    backend TEXT NOT NULL,
    adapter TEXT NOT NULL,
    concurrency BIGINT NOT NULL,
    -- `serve` for in-process workers, `worker` for `lithos worker` hosts.
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    stopped_at BIGINT,
    jobs_done BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workers_last_seen ON workers (last_seen);

-- Direct uploads: a presigned PUT makes a `pending` upload, which `complete` checks and makes
-- `ready`; only ready uploads can be used by tasks.
ALTER TABLE uploads ADD COLUMN state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('pending', 'ready'));
