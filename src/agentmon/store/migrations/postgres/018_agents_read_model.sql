-- The roster's read model (issue 13), kept by the write path (store/agents.py):
-- agents: one row per agent (framework + client id, or host) with its latest event and the
--   session that event belonged to, so the roster finds each agent's latest session without
--   ranking every session in the window;
-- agent_quarter: runs, errors, tokens and cost per agent per quarter hour (every time zone's
--   midnight falls on a quarter hour), so "today" sums a few rows per agent;
-- agent_waits: the events saying an agent waits for a human, so the timeline no longer scans
--   the events' payloads for them.
CREATE TABLE agents (
  framework TEXT NOT NULL, agent TEXT NOT NULL, last_ts BIGINT, session_id TEXT,
  PRIMARY KEY (framework, agent)
);
CREATE INDEX agents_last_ts ON agents (last_ts);
CREATE TABLE agent_quarter (
  bucket BIGINT NOT NULL, framework TEXT NOT NULL, agent TEXT NOT NULL,
  runs BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
  reported_calls BIGINT NOT NULL DEFAULT 0, estimated_calls BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, framework, agent)
);
CREATE TABLE agent_waits (
  event_id TEXT PRIMARY KEY, session_id TEXT, ts BIGINT, event_ts TEXT, framework TEXT,
  agent TEXT
);
CREATE INDEX agent_waits_ts ON agent_waits (ts);
-- the roster's candidates besides open sessions and each agent's latest: failed sessions
CREATE INDEX sessions_failed ON sessions (last_ts) WHERE last_run_status = 'error';

-- What was stored before, folded in once.
INSERT INTO agents (framework, agent, last_ts, session_id)
SELECT framework, agent, last_ts, session_id FROM (
  SELECT coalesce(framework, '') AS framework, coalesce(client_id, host, '') AS agent, last_ts,
    session_id, row_number() OVER (PARTITION BY coalesce(framework, ''),
    coalesce(client_id, host, '') ORDER BY last_ts DESC, session_id) AS n
  FROM sessions) latest
WHERE n = 1;
INSERT INTO agent_quarter (bucket, framework, agent, runs, errors, total_tokens, cost_usd,
  reported_calls, estimated_calls, unpriced_calls)
SELECT bucket, framework, agent, sum(runs), sum(errors), sum(total_tokens), sum(cost_usd),
  sum(reported_calls), sum(estimated_calls), sum(unpriced_calls) FROM (
  SELECT r.first_ts / 900000 * 900000 AS bucket, coalesce(s.framework, '') AS framework,
    coalesce(s.client_id, s.host, '') AS agent, 1 AS runs, 0 AS errors,
    r.total_tokens, r.cost_usd, r.reported_calls, r.estimated_calls, r.unpriced_calls
  FROM runs r JOIN sessions s ON s.session_id = r.session_id
  UNION ALL
  SELECT e.ts / 900000 * 900000, coalesce(s.framework, ''), coalesce(s.client_id, s.host, ''),
    0, 1, 0, 0, 0, 0, 0
  FROM errors e JOIN sessions s ON s.session_id = e.session_id) counted
GROUP BY bucket, framework, agent;
INSERT INTO agent_waits (event_id, session_id, ts, event_ts, framework, agent)
SELECT e.event_id, e.session_id, floor(extract(epoch FROM e.ts) * 1000)::bigint,
  to_char(e.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), s.framework,
  coalesce(s.client_id, s.host, '')
FROM events e JOIN sessions s ON s.session_id = e.session_id
WHERE e.payload -> 'payload' ->> 'agent_state' = 'waiting_for_human';
