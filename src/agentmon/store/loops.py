"""The loop check's read model: `runs.loop_streak`, kept at write time (migration 023).

A run's streak is how many of its latest tool calls repeat one call: the same tool with the
same input, or the same tool failing with the same error (whichever run is longer), newest
first by first seen then span id. A run loops when its streak reaches the repeat setting
(AGENTMON_LOOP_REPEATS), so the setting stays a read-time choice.

The streak is recounted from the stored spans, inside the write transaction, for every run
whose tool spans the batch touched (over its newest STREAK_CAP calls, so a long run costs a
bounded read per batch): the same answer in any delivery order and under redelivery (only
new events touch spans). On PostgreSQL two batches of one run serialise on the run's
row, which both upsert before their spans, so the later one counts the earlier one's spans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from agentmon.store import tables

if TYPE_CHECKING:
    import asyncpg

    from agentmon.store.projection import Projection

# a streak is counted over a run's newest this many tool calls, so recounting a long run
# reads a bounded slice of the spans_run_tool index, not the whole run, on every batch;
# a repeat setting above it asks for this many (AGENTMON_LOOP_REPEATS beyond 1,000)
STREAK_CAP = 1000

# which of the tool calls `c` (numbered `n` from the newest) break the newest one's streak
_BREAKS_SAME_INPUT = (
    "latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name OR c.input <> latest.input"
)
_BREAKS_SAME_ERROR = (
    "latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name "
    "OR latest.error IS NULL OR c.error IS NULL OR c.error <> latest.error"
)
_STREAK_COLUMNS = f"""coalesce(min(CASE WHEN {_BREAKS_SAME_INPUT} THEN c.n END),
      count(*) + 1) - 1 AS same_input,
    coalesce(min(CASE WHEN {_BREAKS_SAME_ERROR} THEN c.n END),
      count(*) + 1) - 1 AS same_error"""
_LONGER = "CASE WHEN same_input >= same_error THEN same_input ELSE same_error END"

# one run's streak (`{run}` its id parameter), from its newest STREAK_CAP tool calls
_RECOUNT_RUN = f"""WITH c AS (
  SELECT name, coalesce(input, '') AS input, error,
    row_number() OVER (ORDER BY first_ts DESC, span_id DESC) AS n
  FROM (SELECT name, input, error, first_ts, span_id FROM spans
    WHERE run_id = {{run}} AND kind = 'tool'
    ORDER BY first_ts DESC, span_id DESC LIMIT {STREAK_CAP}) newest),
streaks AS (
  SELECT {_STREAK_COLUMNS}
  FROM c JOIN c latest ON latest.n = 1),
counted AS (SELECT coalesce(max({_LONGER}), 0) AS streak FROM streaks)
UPDATE runs SET loop_streak = (SELECT streak FROM counted)
WHERE run_id = {{run}} AND loop_streak <> (SELECT streak FROM counted)"""
SQLITE_SQL = _RECOUNT_RUN.format(run="?1")

# migration 023's backfill: the same count over every run at once
BACKFILL_SQL = f"""WITH c AS (
  SELECT run_id, name, coalesce(input, '') AS input, error,
    row_number() OVER (PARTITION BY run_id ORDER BY first_ts DESC, span_id DESC) AS n
  FROM spans WHERE kind = 'tool' AND run_id IS NOT NULL),
streaks AS (
  SELECT c.run_id, {_STREAK_COLUMNS}
  FROM c JOIN c latest ON latest.run_id = c.run_id AND latest.n = 1
  WHERE c.n <= {STREAK_CAP}
  GROUP BY c.run_id),
counted AS (SELECT run_id, {_LONGER} AS streak FROM streaks)
UPDATE runs SET loop_streak = counted.streak FROM counted
WHERE counted.run_id = runs.run_id AND runs.loop_streak <> counted.streak"""


def _touched_spans(projection: Projection) -> list[str]:
    return [row["span_id"] for row in projection.rows[tables.SPANS].values()]


# the runs of the batch's tool spans, as stored (a span keeps the first run it was seen with)
_TOUCHED_RUNS = (
    "SELECT DISTINCT run_id FROM spans WHERE span_id IN ({ids}) "
    "AND kind = 'tool' AND run_id IS NOT NULL ORDER BY run_id"
)
_SQLITE_TOUCHED = _TOUCHED_RUNS.format(ids="SELECT value FROM json_each(?)")
_POSTGRES_TOUCHED = _TOUCHED_RUNS.format(ids="SELECT unnest($1::text[])")


def recount_sqlite(conn: Any, projection: Projection) -> None:
    """The streaks of the runs whose tool spans the batch wrote (sqlite3, in the
    transaction, after the spans' upsert)."""
    spans = _touched_spans(projection)
    if spans:
        runs = conn.execute(_SQLITE_TOUCHED, (msgspec.json.encode(spans).decode(),)).fetchall()
        conn.executemany(SQLITE_SQL, runs)


# the same count as _RECOUNT_RUN over every touched run at once, each run's newest STREAK_CAP
# tool calls read through a LATERAL join: one round trip per batch, not one per run
_POSTGRES_RECOUNT_TOUCHED = f"""WITH touched AS ({_POSTGRES_TOUCHED}),
c AS (
  SELECT touched.run_id, newest.name, coalesce(newest.input, '') AS input, newest.error,
    row_number() OVER (PARTITION BY touched.run_id
      ORDER BY newest.first_ts DESC, newest.span_id DESC) AS n
  FROM touched CROSS JOIN LATERAL (SELECT name, input, error, first_ts, span_id FROM spans
    WHERE run_id = touched.run_id AND kind = 'tool'
    ORDER BY first_ts DESC, span_id DESC LIMIT {STREAK_CAP}) newest),
streaks AS (
  SELECT c.run_id, {_STREAK_COLUMNS}
  FROM c JOIN c latest ON latest.run_id = c.run_id AND latest.n = 1
  GROUP BY c.run_id),
counted AS (SELECT run_id, {_LONGER} AS streak FROM streaks)
UPDATE runs SET loop_streak = counted.streak FROM counted
WHERE counted.run_id = runs.run_id AND runs.loop_streak <> counted.streak"""


async def recount_postgres(conn: asyncpg.Connection, projection: Projection) -> None:
    """The streaks of the runs whose tool spans the batch wrote (in the transaction, after
    the spans' upsert), in one statement."""
    spans = _touched_spans(projection)
    if spans:
        await conn.execute(_POSTGRES_RECOUNT_TOUCHED, spans)
