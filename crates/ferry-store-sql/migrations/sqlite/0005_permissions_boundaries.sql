-- Permissions boundaries: the ARN of a managed policy, or NULL.
ALTER TABLE iam_users ADD COLUMN permissions_boundary TEXT;
ALTER TABLE iam_roles ADD COLUMN permissions_boundary TEXT;
