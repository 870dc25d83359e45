-- A prompt task's task at its AI generation provider, once created, so that a later attempt
-- follows it instead of paying for another. The prompt itself is in `params`, with the task.
ALTER TABLE tasks ADD COLUMN generation TEXT;
