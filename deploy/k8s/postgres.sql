-- The events table of agentmon, as in the original system (agentmon applies this and its
-- read models itself on start, see src/agentmon/store/migrations/postgres/).
CREATE TABLE events (
  event_id TEXT PRIMARY KEY,
  ts TIMESTAMPTZ NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT,
  run_id TEXT,
  trace_id TEXT,
  span_id TEXT,
  parent_span_id TEXT,
  source_framework TEXT,
  client_id TEXT,
  payload JSONB NOT NULL
);
