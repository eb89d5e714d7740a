-- agentmon schema v1 (PostgreSQL). The events table is the original system's, unchanged;
-- payload holds the whole agentmon.event envelope. Read models use epoch milliseconds.
CREATE TABLE IF NOT EXISTS events (
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
CREATE INDEX IF NOT EXISTS events_ts ON events (ts DESC);
CREATE INDEX IF NOT EXISTS events_session_ts ON events (session_id, ts DESC);

CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  framework TEXT, host TEXT, client_id TEXT, title TEXT, model TEXT, parent_session_id TEXT, cwd TEXT,
  first_ts BIGINT, started_at BIGINT, last_ts BIGINT, ended_at BIGINT, last_run_ts BIGINT,
  end_reason TEXT, last_run_status TEXT, waiting_reason TEXT, waiting_message TEXT,
  error_count BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0, cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX sessions_first_ts ON sessions (first_ts DESC, session_id DESC);
CREATE INDEX sessions_last_ts ON sessions (last_ts DESC);
CREATE INDEX sessions_framework ON sessions (framework, first_ts DESC);
CREATE INDEX sessions_host ON sessions (host, first_ts DESC);

CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  session_id TEXT, framework TEXT, host TEXT, input TEXT, model TEXT,
  first_ts BIGINT, started_at BIGINT, last_ts BIGINT, ended_at BIGINT,
  status TEXT, output TEXT, error TEXT, duration_ms DOUBLE PRECISION, usage TEXT,
  error_count BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0, cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX runs_session ON runs (session_id, first_ts);

CREATE TABLE spans (
  span_id TEXT PRIMARY KEY,
  run_id TEXT, session_id TEXT, trace_id TEXT, parent_span_id TEXT, framework TEXT,
  kind TEXT, name TEXT, input TEXT,
  first_ts BIGINT, started_at BIGINT, derived_start BIGINT, ended_at BIGINT,
  status TEXT, error TEXT, output TEXT, duration_ms DOUBLE PRECISION, attributes TEXT, usage TEXT
);
CREATE INDEX spans_run ON spans (run_id, first_ts);
CREATE INDEX spans_session ON spans (session_id);

CREATE TABLE model_usage (
  session_id TEXT NOT NULL, model TEXT NOT NULL, framework TEXT, last_ts BIGINT,
  calls BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0, cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, model)
);

CREATE TABLE rollup_minute (
  bucket BIGINT NOT NULL, framework TEXT NOT NULL,
  events BIGINT NOT NULL DEFAULT 0, sessions BIGINT NOT NULL DEFAULT 0, runs BIGINT NOT NULL DEFAULT 0,
  tool_calls BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, framework)
);
CREATE TABLE rollup_hour (LIKE rollup_minute INCLUDING ALL);

CREATE TABLE tool_rollup_minute (
  bucket BIGINT NOT NULL, name TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0,
  timed_calls BIGINT NOT NULL DEFAULT 0, total_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, name)
);
CREATE TABLE tool_rollup_hour (LIKE tool_rollup_minute INCLUDING ALL);

CREATE TABLE vm_latest (name TEXT PRIMARY KEY, ts BIGINT, snapshot TEXT);
CREATE TABLE vm_history (
  name TEXT NOT NULL, ts BIGINT NOT NULL,
  cpu_pct DOUBLE PRECISION, mem_pct DOUBLE PRECISION, disk_pct DOUBLE PRECISION,
  PRIMARY KEY (name, ts)
);

CREATE TABLE errors (
  event_id TEXT PRIMARY KEY, ts BIGINT, session_id TEXT, run_id TEXT, span_id TEXT,
  framework TEXT, host TEXT, kind TEXT, message TEXT
);
CREATE INDEX errors_run ON errors (run_id);
CREATE INDEX errors_ts ON errors (ts DESC);

CREATE TABLE dead_letters (
  id BIGSERIAL PRIMARY KEY,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  reason TEXT NOT NULL,
  data BYTEA NOT NULL
);
