-- A task made from another to have its model in another format, free of charge
-- (`POST /tasks/{id}/formats`): the task it was made from.
ALTER TABLE tasks ADD COLUMN derived_from TEXT REFERENCES tasks (id) ON DELETE SET NULL;
CREATE INDEX tasks_derived_from ON tasks (derived_from);
