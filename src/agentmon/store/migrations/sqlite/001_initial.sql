-- agentmon schema v1 (SQLite). The events table is the original system's, unchanged;
-- payload holds the whole agentmon.event envelope. Read models use epoch milliseconds.
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY,
  ts TEXT NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT,
  run_id TEXT,
  trace_id TEXT,
  span_id TEXT,
  parent_span_id TEXT,
  source_framework TEXT,
  client_id TEXT,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_session_ts ON events (session_id, ts);

CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  framework TEXT, host TEXT, client_id TEXT, title TEXT, model TEXT, parent_session_id TEXT, cwd TEXT,
  first_ts INTEGER, started_at INTEGER, last_ts INTEGER, ended_at INTEGER, last_run_ts INTEGER,
  end_reason TEXT, last_run_status TEXT, waiting_reason TEXT, waiting_message TEXT,
  error_count INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0
);
CREATE INDEX sessions_first_ts ON sessions (first_ts, session_id);
CREATE INDEX sessions_last_ts ON sessions (last_ts);
CREATE INDEX sessions_framework ON sessions (framework, first_ts);
CREATE INDEX sessions_host ON sessions (host, first_ts);

CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  session_id TEXT, framework TEXT, host TEXT, input TEXT, model TEXT,
  first_ts INTEGER, started_at INTEGER, last_ts INTEGER, ended_at INTEGER,
  status TEXT, output TEXT, error TEXT, duration_ms REAL, usage TEXT,
  error_count INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0
);
CREATE INDEX runs_session ON runs (session_id, first_ts);

CREATE TABLE spans (
  span_id TEXT PRIMARY KEY,
  run_id TEXT, session_id TEXT, trace_id TEXT, parent_span_id TEXT, framework TEXT,
  kind TEXT, name TEXT, input TEXT,
  first_ts INTEGER, started_at INTEGER, derived_start INTEGER, ended_at INTEGER,
  status TEXT, error TEXT, output TEXT, duration_ms REAL, attributes TEXT, usage TEXT
);
CREATE INDEX spans_run ON spans (run_id, first_ts);
CREATE INDEX spans_session ON spans (session_id);

CREATE TABLE model_usage (
  session_id TEXT NOT NULL, model TEXT NOT NULL, framework TEXT, last_ts INTEGER,
  calls INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (session_id, model)
);

CREATE TABLE rollup_minute (
  bucket INTEGER NOT NULL, framework TEXT NOT NULL,
  events INTEGER NOT NULL DEFAULT 0, sessions INTEGER NOT NULL DEFAULT 0, runs INTEGER NOT NULL DEFAULT 0,
  tool_calls INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, framework)
);
CREATE TABLE rollup_hour (
  bucket INTEGER NOT NULL, framework TEXT NOT NULL,
  events INTEGER NOT NULL DEFAULT 0, sessions INTEGER NOT NULL DEFAULT 0, runs INTEGER NOT NULL DEFAULT 0,
  tool_calls INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, framework)
);

CREATE TABLE tool_rollup_minute (
  bucket INTEGER NOT NULL, name TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  timed_calls INTEGER NOT NULL DEFAULT 0, total_ms REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, name)
);
CREATE TABLE tool_rollup_hour (
  bucket INTEGER NOT NULL, name TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  timed_calls INTEGER NOT NULL DEFAULT 0, total_ms REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, name)
);

CREATE TABLE vm_latest (name TEXT PRIMARY KEY, ts INTEGER, snapshot TEXT);
CREATE TABLE vm_history (
  name TEXT NOT NULL, ts INTEGER NOT NULL,
  cpu_pct REAL, mem_pct REAL, disk_pct REAL,
  PRIMARY KEY (name, ts)
);

CREATE TABLE errors (
  event_id TEXT PRIMARY KEY, ts INTEGER, session_id TEXT, run_id TEXT, span_id TEXT,
  framework TEXT, host TEXT, kind TEXT, message TEXT
);
CREATE INDEX errors_run ON errors (run_id);
CREATE INDEX errors_ts ON errors (ts);

CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  reason TEXT NOT NULL,
  data BLOB NOT NULL
);
