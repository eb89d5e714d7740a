-- Users of the web UI (admin or viewer; the password as a scrypt hash) and the UI's logged-in
-- sessions (only the SHA-256 of each session token is kept; the role is read at each use
-- from the user or key the session belongs to, so a removal or revocation ends it).
CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_ms BIGINT NOT NULL, changed_ms BIGINT NOT NULL);
CREATE TABLE ui_sessions (digest TEXT PRIMARY KEY, kind TEXT NOT NULL, principal TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL);
CREATE INDEX ui_sessions_principal ON ui_sessions (kind, principal);
