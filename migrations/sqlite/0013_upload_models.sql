-- A 3D file's upload: its format, triangles and what is wrong with it (JSON), as a volume's
-- upload keeps its description in `volume`.
ALTER TABLE uploads ADD COLUMN model TEXT;
