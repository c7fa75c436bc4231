-- Role tags (JSON list of [key, value] pairs).
ALTER TABLE iam_roles ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
