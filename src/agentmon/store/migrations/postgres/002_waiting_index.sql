-- Sessions waiting for a human are few; the summary and the attention strip look them up
-- on every refresh, so index just those rows.
CREATE INDEX sessions_waiting ON sessions (framework) WHERE waiting_reason IS NOT NULL AND ended_at IS NULL;
CREATE INDEX sessions_open ON sessions (last_ts) WHERE ended_at IS NULL;
