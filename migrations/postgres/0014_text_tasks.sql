-- Text tasks need no upload (the bundled font), so a task's `upload_id` may be NULL; a font
-- upload's name and glyph count are kept as JSON in `font`, as a 3D file's description is in
-- `model`.

-- this dialect only: PostgreSQL drops the NOT NULL in place.
ALTER TABLE tasks ALTER COLUMN upload_id DROP NOT NULL;
-- both dialects again
CREATE INDEX tasks_upload ON tasks (upload_id);
ALTER TABLE uploads ADD COLUMN font TEXT;
