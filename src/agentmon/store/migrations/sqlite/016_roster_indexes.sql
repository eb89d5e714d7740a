-- The roster (/v1/agents) and the loop check read each session's latest run and each open
-- run's latest tool calls, newest first with the id as tie-break. These indexes hold exactly
-- that order, so both are one short index scan per session or run. Without them PostgreSQL,
-- before its first ANALYZE, ANDed spans_tool_latency (every tool span) into each lookup:
-- 1.6 s for 1,000 agents.
DROP INDEX runs_session;
CREATE INDEX runs_session ON runs (session_id, first_ts, run_id);
CREATE INDEX spans_run_tool ON spans (run_id, first_ts, span_id) WHERE kind = 'tool';
