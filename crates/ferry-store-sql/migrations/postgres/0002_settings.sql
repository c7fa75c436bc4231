-- Server-wide settings (the session token signing key), first writer wins.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
