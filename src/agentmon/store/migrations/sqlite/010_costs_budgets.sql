-- Costs over time by session and model (issue 12): what the Costs view and budgets sum.
-- One row per hour, session and model; the session gives the agent and the project (cwd).
CREATE TABLE usage_hour (
  bucket INTEGER NOT NULL, session_id TEXT NOT NULL, model TEXT NOT NULL, framework TEXT,
  calls INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  reported_calls INTEGER NOT NULL DEFAULT 0, estimated_calls INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, session_id, model)
);
CREATE INDEX usage_hour_session ON usage_hour (session_id);
-- Calls stored before: each session's per-model totals, in the hour of its last call.
INSERT INTO usage_hour (bucket, session_id, model, framework, calls, input_tokens, output_tokens,
  cache_read_tokens, cache_write_tokens, total_tokens, cost_usd, reported_calls, estimated_calls,
  unpriced_calls)
SELECT last_ts / 3600000 * 3600000, session_id, model, framework, calls, input_tokens,
  output_tokens, cache_read_tokens, cache_write_tokens, total_tokens, cost_usd, reported_calls,
  estimated_calls, unpriced_calls
FROM model_usage WHERE last_ts IS NOT NULL;

-- Budgets set through the API (those of AGENTMON_BUDGETS live in the file, not here).
CREATE TABLE budgets (
  budget_id TEXT PRIMARY KEY, scope TEXT NOT NULL, target TEXT NOT NULL, period TEXT NOT NULL,
  limit_usd REAL NOT NULL, updated_ms INTEGER NOT NULL
);
-- A budget crossed in a period: the row claims its one alert (whoever inserts it sends it).
CREATE TABLE budget_alerts (
  budget_id TEXT NOT NULL, period_start INTEGER NOT NULL, fired_ms INTEGER NOT NULL,
  spent_usd REAL NOT NULL, limit_usd REAL NOT NULL,
  PRIMARY KEY (budget_id, period_start)
);
