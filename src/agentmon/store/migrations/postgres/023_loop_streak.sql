-- The loop check (issue 13) kept at write time: runs.loop_streak is how many of the run's
-- latest tool calls repeat one call (the same tool with the same input, or the same tool
-- failing with the same error), newest first as the spans_run_tool index orders them. The
-- write path recomputes it (store/loops.py) for the runs whose spans a batch touched, so a
-- status reads it from the runs_looping index instead of ranking every open run's spans.
ALTER TABLE runs ADD COLUMN loop_streak INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_looping ON runs (session_id)
  WHERE loop_streak > 1 AND started_at IS NOT NULL AND ended_at IS NULL;
-- What was stored before, folded in once.
-- The write path's count (store/loops.py), over every run at once.
WITH c AS (
  SELECT run_id, name, coalesce(input, '') AS input, error,
    row_number() OVER (PARTITION BY run_id ORDER BY first_ts DESC, span_id DESC) AS n
  FROM spans WHERE kind = 'tool' AND run_id IS NOT NULL),
streaks AS (
  SELECT c.run_id, coalesce(min(CASE WHEN latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name OR c.input <> latest.input THEN c.n END),
      count(*) + 1) - 1 AS same_input,
    coalesce(min(CASE WHEN latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name OR latest.error IS NULL OR c.error IS NULL OR c.error <> latest.error THEN c.n END),
      count(*) + 1) - 1 AS same_error
  FROM c JOIN c latest ON latest.run_id = c.run_id AND latest.n = 1
  WHERE c.n <= 1000
  GROUP BY c.run_id),
counted AS (SELECT run_id, CASE WHEN same_input >= same_error THEN same_input ELSE same_error END AS streak FROM streaks)
UPDATE runs SET loop_streak = counted.streak FROM counted
WHERE counted.run_id = runs.run_id AND runs.loop_streak <> counted.streak;
