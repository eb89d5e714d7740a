"""The loop check's read model: `runs.loop_streak`, kept at write time (migration 023).

A run's streak is how many of its latest tool calls repeat one call: the same tool with the
same input, or the same tool failing with the same error (whichever run is longer), newest
first by first seen then span id. A run loops when its streak reaches the repeat setting
(AGENTMON_LOOP_REPEATS), so the setting stays a read-time choice.

The streak is recomputed from the stored spans, inside the write transaction, for every run
whose spans the batch touched: the same answer in any delivery order and under redelivery
(only new events touch spans). On PostgreSQL two batches of one run serialise on the run's
row, which both upsert before their spans, so the later one counts the earlier one's spans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from agentmon.store import tables

if TYPE_CHECKING:
    import asyncpg

    from agentmon.store.projection import Projection

# the recount over the tool calls of the runs `{runs}` selects (every run when empty)
_RECOUNT = """WITH tool_calls AS (
  SELECT run_id, name, coalesce(input, '') AS input, error,
    row_number() OVER (PARTITION BY run_id ORDER BY first_ts DESC, span_id DESC) AS n
  FROM spans WHERE kind = 'tool' AND run_id IS NOT NULL{runs}),
streaks AS (
  SELECT c.run_id,
    coalesce(min(CASE WHEN latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name
      OR c.input <> latest.input THEN c.n END), count(*) + 1) - 1 AS same_input,
    coalesce(min(CASE WHEN latest.name IS NULL OR c.name IS NULL OR c.name <> latest.name
      OR latest.error IS NULL OR c.error IS NULL OR c.error <> latest.error THEN c.n END),
      count(*) + 1) - 1 AS same_error
  FROM tool_calls c JOIN tool_calls latest ON latest.run_id = c.run_id AND latest.n = 1
  GROUP BY c.run_id),
counted AS (
  SELECT run_id, CASE WHEN same_input >= same_error THEN same_input ELSE same_error END
    AS streak FROM streaks)
UPDATE runs SET loop_streak = counted.streak FROM counted
WHERE counted.run_id = runs.run_id AND runs.loop_streak <> counted.streak"""

# migration 023's backfill is this statement over every run
BACKFILL_SQL = _RECOUNT.format(runs="")
_TOUCHED = " AND run_id IN (SELECT run_id FROM spans WHERE span_id IN ({ids}))"
SQLITE_SQL = _RECOUNT.format(runs=_TOUCHED.format(ids="SELECT value FROM json_each(?)"))
POSTGRES_SQL = _RECOUNT.format(runs=_TOUCHED.format(ids="SELECT unnest($1::text[])"))


def _touched_spans(projection: Projection) -> list[str]:
    return [row["span_id"] for row in projection.rows[tables.SPANS].values()]


def recount_sqlite(conn: Any, projection: Projection) -> None:
    """The streaks of the runs whose spans the batch wrote (sqlite3, in the transaction)."""
    spans = _touched_spans(projection)
    if spans:
        conn.execute(SQLITE_SQL, (msgspec.json.encode(spans).decode(),))


async def recount_postgres(conn: asyncpg.Connection, projection: Projection) -> None:
    """The streaks of the runs whose spans the batch wrote (in the transaction)."""
    spans = _touched_spans(projection)
    if spans:
        await conn.execute(POSTGRES_SQL, spans)
