-- User tags (JSON list of [key, value] pairs).
ALTER TABLE iam_users ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
