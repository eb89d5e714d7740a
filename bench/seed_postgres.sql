-- Server-side seed for bench/bench_queries.py --fast-seed: the shape of :events events
-- (~78 a session: 4 runs of 2 model calls and 5 tool calls, usage, an error now and then)
-- written straight into the events table and every read model, spread over the last 7 days.
-- Content is synthetic; table sizes, key distributions and indexes are what the queries see.
\set sessions (:events / 78)
\set runs (:sessions * 4)

INSERT INTO events (event_id, ts, type, session_id, run_id, trace_id, span_id, parent_span_id,
                    source_framework, client_id, payload)
SELECT 'e' || i,
       now() - ((i::bigint * 7919) % 604800) * interval '1 second',
       (ARRAY['session.start','run.start','span.start','span.end','metric.snapshot','run.end',
              'span.start','span.end','error','session.end'])[1 + i % 10],
       's' || (i / 78), 's' || (i / 78) || 'r' || ((i / 19) % 4), NULL,
       's' || (i / 78) || 'r' || ((i / 19) % 4) || 't' || (i % 19), NULL,
       (ARRAY['claude-code','codex','openclaw','gemini-cli','hermes'])[1 + (i / 78) % 5],
       'host-' || ((i / 78) % 40),
       jsonb_build_object('schema', jsonb_build_object('name', 'agentmon.event', 'version', 1),
                          'event', jsonb_build_object('id', 'e' || i, 'type', 'span.end'),
                          'payload', jsonb_build_object('kind', 'tool', 'name', 'Bash', 'status', 'ok'))
FROM generate_series(0, :events - 1) AS i;

INSERT INTO sessions (session_id, framework, host, client_id, title, model, first_ts, started_at,
                      last_ts, ended_at, last_run_ts, end_reason, last_run_status, error_count,
                      input_tokens, output_tokens, total_tokens, cost_usd)
SELECT 's' || s, (ARRAY['claude-code','codex','openclaw','gemini-cli','hermes'])[1 + s % 5],
       'host-' || (s % 40), 'host-' || (s % 40), 'bench session', 'm', t, t, t + 600000,
       CASE WHEN s % 10 = 0 THEN NULL ELSE t + 600000 END, t + 590000,
       CASE WHEN s % 10 = 0 THEN NULL ELSE 'prompt_input_exit' END,
       CASE WHEN s % 17 = 0 THEN 'error' ELSE 'ok' END, s % 3, 10800, 720, 11520, 0.032
FROM (SELECT s, (extract(epoch FROM now()) * 1000)::bigint - ((s::bigint * 7919) % 604800) * 1000 AS t
      FROM generate_series(0, :sessions - 1) AS s) AS seeded;

INSERT INTO runs (run_id, session_id, framework, host, input, model, first_ts, started_at, last_ts,
                  ended_at, status, output, duration_ms, error_count, input_tokens, output_tokens,
                  total_tokens, cost_usd)
SELECT 's' || (r / 4) || 'r' || (r % 4), 's' || (r / 4),
       (ARRAY['claude-code','codex','openclaw','gemini-cli','hermes'])[1 + (r / 4) % 5],
       'host-' || ((r / 4) % 40), 'do the thing', 'm', t, t, t + 120000, t + 120000,
       CASE WHEN r % 23 = 0 THEN 'error' ELSE 'ok' END, 'done', 120000, 0, 2700, 180, 2880, 0.008
FROM (SELECT r, (extract(epoch FROM now()) * 1000)::bigint - (((r::bigint / 4) * 7919) % 604800) * 1000
              + (r % 4) * 150000 AS t
      FROM generate_series(0, :runs - 1) AS r) AS seeded;

INSERT INTO spans (span_id, run_id, session_id, framework, kind, name, input, first_ts, started_at,
                   ended_at, status, output, duration_ms)
SELECT run_id || 't' || k, run_id, session_id, framework,
       CASE WHEN k < 2 THEN 'llm' ELSE 'tool' END,
       CASE WHEN k < 2 THEN 'm' ELSE (ARRAY['Bash','Read','Edit','Grep','exec'])[1 + k % 5] END,
       '{"command": "ls"}', started_at + k * 5000, started_at + k * 5000, started_at + k * 5000 + 1200,
       CASE WHEN (k + length(run_id)) % 20 = 0 THEN 'error' ELSE 'ok' END, '"ok"', 1200
FROM runs, generate_series(0, 6) AS k;

INSERT INTO errors (event_id, ts, session_id, run_id, framework, host, kind, message)
SELECT 'err-' || run_id, ended_at, session_id, run_id, framework, host, 'tool', 'Bash: exit code 1'
FROM runs WHERE status = 'error';

INSERT INTO model_usage (session_id, model, framework, last_ts, calls, input_tokens, output_tokens,
                         total_tokens, cost_usd)
SELECT session_id, 'm', framework, last_ts, 12, 10800, 720, 11520, 0.032 FROM sessions;

INSERT INTO rollup_minute (bucket, framework, events, sessions, runs, tool_calls, errors,
                           total_tokens, input_tokens, output_tokens, cost_usd)
SELECT bucket, framework, :events / 50400, :sessions / 50400 + 1, :runs / 50400 + 1,
       :events / 50400 / 4, 1, 9000, 8400, 600, 0.03
FROM generate_series((extract(epoch FROM now())::bigint / 60 - 10080) * 60000,
                     (extract(epoch FROM now())::bigint / 60) * 60000, 60000) AS bucket,
     unnest(ARRAY['claude-code','codex','openclaw','gemini-cli','hermes']) AS framework;

INSERT INTO rollup_hour
SELECT bucket / 3600000 * 3600000, framework, sum(events), sum(sessions), sum(runs),
       sum(tool_calls), sum(errors), sum(total_tokens), sum(input_tokens), sum(output_tokens),
       sum(cost_usd)
FROM rollup_minute GROUP BY 1, 2;

INSERT INTO tool_rollup_minute (bucket, name, calls, errors, timed_calls, total_ms)
SELECT bucket, name, 40, 2, 40, 48000
FROM generate_series((extract(epoch FROM now())::bigint / 60 - 10080) * 60000,
                     (extract(epoch FROM now())::bigint / 60) * 60000, 60000) AS bucket,
     unnest(ARRAY['Bash','Read','Edit','Grep','exec','web_fetch','apply_patch']) AS name;

INSERT INTO tool_rollup_hour
SELECT bucket / 3600000 * 3600000, name, sum(calls), sum(errors), sum(timed_calls), sum(total_ms)
FROM tool_rollup_minute GROUP BY 1, 2;

INSERT INTO facets (kind, value, last_ts)
SELECT 'framework', framework, max(last_ts) FROM sessions GROUP BY framework
UNION ALL
SELECT 'host', host, max(last_ts) FROM sessions GROUP BY host;

ANALYZE;
