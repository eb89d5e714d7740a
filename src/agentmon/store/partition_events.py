"""`agentmon migrate partition-events`: turn an existing, unpartitioned PostgreSQL `events` table
into the time-partitioned one (migration 012 does this only for an empty table), online.

1. Create `events_partitioned` (the same columns, PRIMARY KEY (event_id, ts), the same
   indexes) with a partition for every period from the oldest event to a few periods ahead.
2. A trigger on `events` mirrors every insert and delete into it from now on, so the
   processors keep writing while the copy runs.
3. Copy the stored rows in batches of `batch_rows`, in event_id order, one short transaction
   each (`ON CONFLICT DO NOTHING`: rows the trigger already mirrored are skipped, and an
   interrupted run can simply be started again).
4. In one short transaction: rename `events` to `events_unpartitioned`, drop the trigger and
   rename `events_partitioned` (and its indexes) to `events`. The old table is kept for the
   operator to check and drop (`--drop-old` drops it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from agentmon.config import Settings
from agentmon.store import partitions

NEW = "events_partitioned"
OLD = "events_unpartitioned"
_MIRROR = """
CREATE OR REPLACE FUNCTION agentmon_mirror_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO events_partitioned VALUES (NEW.*) ON CONFLICT DO NOTHING;
  ELSE
    DELETE FROM events_partitioned WHERE event_id = OLD.event_id AND ts = OLD.ts;
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS agentmon_mirror_events ON events;
CREATE TRIGGER agentmon_mirror_events AFTER INSERT OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION agentmon_mirror_events();
"""
_COPY_BATCH = f"""
WITH batch AS (SELECT * FROM events WHERE event_id > $1 ORDER BY event_id LIMIT $2),
     copied AS (INSERT INTO {NEW} SELECT * FROM batch ON CONFLICT DO NOTHING)
SELECT max(event_id) AS last, count(*) AS rows FROM batch
"""
_SWAP = f"""
LOCK TABLE events IN ACCESS EXCLUSIVE MODE;
DROP TRIGGER agentmon_mirror_events ON events;
DROP FUNCTION agentmon_mirror_events();
ALTER TABLE events RENAME TO {OLD};
ALTER INDEX events_pkey RENAME TO {OLD}_pkey;
ALTER INDEX IF EXISTS events_ts RENAME TO {OLD}_ts;
ALTER INDEX IF EXISTS events_session_ts RENAME TO {OLD}_session_ts;
ALTER TABLE {NEW} RENAME TO events;
ALTER INDEX {NEW}_pkey RENAME TO events_pkey;
ALTER INDEX {NEW}_ts RENAME TO events_ts;
ALTER INDEX {NEW}_session_ts RENAME TO events_session_ts;
"""


@dataclass(frozen=True)
class Outcome:
    copied: int
    partitions: int
    already: bool = False


class NotConvertible(Exception):
    """The database is not in a state this command can convert."""


async def convert(
    conn: asyncpg.Connection,
    period: str,
    batch_rows: int = 10_000,
    progress: Callable[[int], None] = lambda copied: None,
    drop_old: bool = False,
) -> Outcome:
    if await conn.fetchval("SELECT to_regclass('events')") is None:
        raise NotConvertible("there is no events table: run `agentmon migrate` first")
    if await partitions.is_partitioned(conn):
        return Outcome(0, len(await partitions.existing(conn)), already=True)
    made = await _prepare(conn, period)
    copied, last = 0, ""
    while True:
        row = await conn.fetchrow(_COPY_BATCH, last, batch_rows)
        if not row["rows"]:
            break
        copied += row["rows"]
        last = row["last"]
        progress(copied)
    async with conn.transaction():
        await conn.execute(_SWAP)
        if drop_old:
            await conn.execute(f"DROP TABLE {OLD}")
    return Outcome(copied, made)


async def _prepare(conn: asyncpg.Connection, period: str) -> int:
    """The partitioned table, its partitions and the mirror trigger; partitions made."""
    async with conn.transaction():
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {NEW} (LIKE events INCLUDING DEFAULTS, "
            "PRIMARY KEY (event_id, ts)) PARTITION BY RANGE (ts)"
        )
        await conn.execute(f"CREATE INDEX IF NOT EXISTS {NEW}_ts ON {NEW} (ts DESC)")
        await conn.execute(
            f"CREATE INDEX IF NOT EXISTS {NEW}_session_ts ON {NEW} (session_id, ts DESC)"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {partitions.DEFAULT_PARTITION} PARTITION OF {NEW} DEFAULT"
        )
        now = datetime.now(UTC)
        oldest = await conn.fetchval("SELECT min(ts) FROM events") or now
        have = {p.name for p in await partitions.existing(conn, NEW)}
        wanted = partitions.between(oldest, now, period)
        for partition in wanted:
            if partition.name not in have:
                await partitions.create(conn, partition, NEW)
        await conn.execute(_MIRROR)
    return len(wanted)


async def run_conversion(settings: Settings, batch_rows: int, drop_old: bool) -> int:
    """The command: convert, printing progress; 0 when done, 2 when it cannot be done here."""
    if not settings.database_url:
        print("agentmon migrate partition-events: needs DATABASE_URL (PostgreSQL)", file=sys.stderr)
        return 2
    conn = await asyncpg.connect(settings.database_url)
    try:
        outcome = await convert(
            conn,
            settings.partition_period,
            batch_rows,
            lambda copied: print(f"copied {copied} events", flush=True),
            drop_old,
        )
    except NotConvertible as exc:
        print(f"agentmon migrate partition-events: {exc}", file=sys.stderr)
        return 2
    finally:
        await conn.close()
    if outcome.already:
        print(f"events is already partitioned ({outcome.partitions} partitions)")
    else:
        kept = "" if drop_old else f"; the old table is kept as {OLD}: drop it when satisfied"
        print(
            f"events partitioned: {outcome.copied} events copied into {outcome.partitions} "
            f"partitions{kept}"
        )
    return 0
