-- Sessions that resume (issue: a resumed Claude Code session, a later OpenClaw --local turn on
-- the same key): ended_at is now derived (store/tables.py Rule.ENDED) from the latest
-- session.end (last_end_ts) and the latest start of work (last_start_ts: session.start,
-- run.start, span.start), and is NULL while a start is later than the end.
ALTER TABLE sessions ADD COLUMN last_end_ts INTEGER;
ALTER TABLE sessions ADD COLUMN last_start_ts INTEGER;
-- What was stored before, folded in once.
-- The runs' starts are the starts known so far.
UPDATE sessions SET last_end_ts = ended_at,
  last_start_ts = (SELECT max(r.started_at) FROM runs r WHERE r.session_id = sessions.session_id);
UPDATE sessions SET ended_at = NULL WHERE last_start_ts > last_end_ts;
