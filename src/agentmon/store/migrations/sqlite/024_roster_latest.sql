-- The roster's latest run and latest tool call kept at write time (issue 13): a session's
-- latest run (its runs newest first by first seen, then run id) in sessions.latest_run_id,
-- and a run's latest tool call (its tool spans, in the same order) in runs.latest_tool_id.
-- The write path (store/agents.py) recounts both, inside the write transaction, for the
-- sessions and runs a batch touched, from the stored rows: the same answer in any delivery
-- order. The roster joins them instead of probing two indexes per agent.
ALTER TABLE sessions ADD COLUMN latest_run_id TEXT;
ALTER TABLE runs ADD COLUMN latest_tool_id TEXT;
-- What was stored before, folded in once.
UPDATE runs SET latest_tool_id = latest.span_id FROM (
  SELECT run_id, span_id,
    row_number() OVER (PARTITION BY run_id ORDER BY first_ts DESC, span_id DESC) AS n
  FROM spans WHERE kind = 'tool' AND run_id IS NOT NULL) latest
WHERE latest.n = 1 AND latest.run_id = runs.run_id;
UPDATE sessions SET latest_run_id = latest.run_id FROM (
  SELECT session_id, run_id,
    row_number() OVER (PARTITION BY session_id ORDER BY first_ts DESC, run_id DESC) AS n
  FROM runs WHERE session_id IS NOT NULL) latest
WHERE latest.n = 1 AND latest.session_id = sessions.session_id;
