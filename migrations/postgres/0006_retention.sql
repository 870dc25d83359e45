-- Retention: an output past its plan's retention days is deleted and its task marked expired
-- (its download answers 410); a source no task needs is deleted after a grace period, marked
-- first so that no task can start needing it mid-sweep; one sweeper at a time holds a lease.
-- (Outputs are found by age through the existing tasks_finished index.)
ALTER TABLE tasks ADD COLUMN expired_at BIGINT;
ALTER TABLE uploads ADD COLUMN sweep_started_at BIGINT;
ALTER TABLE uploads ADD COLUMN deleted_at BIGINT;

CREATE TABLE sweeper_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
