-- Open runs decide whether a session is stuck or looping, read on every session query; today's
-- runs per agent feed the roster.
CREATE INDEX runs_open ON runs (session_id) WHERE ended_at IS NULL AND started_at IS NOT NULL;
CREATE INDEX runs_first_ts ON runs (first_ts);
