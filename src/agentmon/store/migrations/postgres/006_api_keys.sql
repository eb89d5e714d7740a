-- API keys with a scope (ingest, read, admin); only the SHA-256 of each key is kept.
CREATE TABLE api_keys (name TEXT PRIMARY KEY, prefix TEXT NOT NULL UNIQUE, digest TEXT NOT NULL, scope TEXT NOT NULL, created_ms BIGINT NOT NULL, last_used_ms BIGINT);
