"""Time partitions of the PostgreSQL `events` table (declarative range partitions).

`events` is partitioned by `ts` into one table per UTC day or ISO week (AGENTMON_PARTITION_PERIOD),
named `events_pYYYYMMDD` after the period's first day, plus `events_default` for rows no
partition covers (late or imported events). The writer keeps PARTITIONS_AHEAD periods created
ahead of time on start and every MAINTAIN_EVERY_S; a period that has rows in the default
partition gets its own partition and those rows are moved into it. Retention drops whole
partitions: no row deletes, no bloat. Only `events` is partitioned: the read models are
upserted on keys (span_id, run_id, …) whose time columns change as events fold in, and a
partitioned table needs its partition key inside every unique key.

The primary key is (event_id, ts) because a unique key must hold the partition key; a replayed
event carries its original `ts`, so redeliveries still conflict and are stored once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

log = logging.getLogger("agentmon.partitions")

PERIODS = ("day", "week")
PARTITIONS_AHEAD = 3
MAINTAIN_EVERY_S = 3600.0
_LOCK = 0x6167656E74706172  # "agentpar": one writer at a time changes the partition layout
_PREFIX = "events_p"
DEFAULT_PARTITION = "events_default"


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime
    end: datetime


def period_start(ts: datetime, period: str) -> datetime:
    """The UTC midnight that starts the day (or the Monday that starts the week) holding `ts`."""
    day = ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if period == "week" else day


def partition_for(ts: datetime, period: str) -> Partition:
    start = period_start(ts, period)
    end = start + timedelta(days=7 if period == "week" else 1)
    return Partition(f"{_PREFIX}{start:%Y%m%d}", start, end)


def upcoming(now: datetime, period: str, ahead: int = PARTITIONS_AHEAD) -> list[Partition]:
    """The partition holding `now` and the `ahead` after it."""
    first = partition_for(now, period)
    step = first.end - first.start
    return [partition_for(first.start + step * i, period) for i in range(ahead + 1)]


def between(oldest: datetime, now: datetime, period: str) -> list[Partition]:
    """Every partition from the one holding `oldest` to PARTITIONS_AHEAD after `now`'s."""
    first, last = partition_for(oldest, period), upcoming(now, period)[-1]
    found = [first]
    while found[-1].start < last.start:
        found.append(partition_for(found[-1].end, period))
    return found


async def is_partitioned(conn: asyncpg.Connection) -> bool:
    kind = await conn.fetchval(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('events')"
    )
    return bool(kind == b"p" or kind == "p")


async def existing(conn: asyncpg.Connection, parent: str = "events") -> list[Partition]:
    """The time partitions of `parent`, oldest first (the default partition excluded)."""
    rows = await conn.fetch(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = $1::regclass AND c.relname LIKE 'events\\_p%'",
        parent,
    )
    found = []
    for row in rows:
        # FOR VALUES FROM ('2026-12-05 00:00:00+00') TO ('2026-12-06 00:00:00+00')
        bounds = row["bound"].split("'")
        found.append(Partition(row["relname"], _parse(bounds[1]), _parse(bounds[3])))
    return sorted(found, key=lambda p: p.start)


def _parse(bound: str) -> datetime:
    return datetime.fromisoformat(bound.replace(" ", "T")).astimezone(UTC)


async def create(conn: asyncpg.Connection, partition: Partition, parent: str = "events") -> int:
    """Create and attach one partition, moving the default partition's rows in its range into
    it; the number of rows moved. Call inside a transaction."""
    start, end = partition.start, partition.end
    await conn.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN SHARE ROW EXCLUSIVE MODE")
    await conn.execute(f"CREATE TABLE {partition.name} (LIKE {parent} INCLUDING DEFAULTS)")
    status = await conn.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= $1 AND ts < $2 "
        f"RETURNING *) INSERT INTO {partition.name} SELECT * FROM moved",
        start,
        end,
    )
    # the CHECK lets ATTACH skip scanning the new table; it is dropped once attached
    await conn.execute(
        f"ALTER TABLE {partition.name} ADD CONSTRAINT {partition.name}_range "
        f"CHECK (ts IS NOT NULL AND ts >= '{start.isoformat()}' AND ts < '{end.isoformat()}')"
    )
    await conn.execute(
        f"ALTER TABLE {parent} ATTACH PARTITION {partition.name} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    await conn.execute(f"ALTER TABLE {partition.name} DROP CONSTRAINT {partition.name}_range")
    return int(status.rsplit(" ", 1)[-1])


async def ensure(conn: asyncpg.Connection, period: str, now: datetime | None = None) -> list[str]:
    """Create the partitions due now and ahead, and one for each period that has rows waiting in
    the default partition; the names created. A no-op on an unpartitioned `events`."""
    if not await is_partitioned(conn):
        return []
    now = now or datetime.now(UTC)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        have = await existing(conn)
        wanted = {p.name: p for p in upcoming(now, period)}
        for row in await conn.fetch(
            f"SELECT DISTINCT date_trunc('day', ts AT TIME ZONE 'UTC') AS day "
            f"FROM {DEFAULT_PARTITION}"
        ):
            waiting = partition_for(row["day"].replace(tzinfo=UTC), period)
            wanted.setdefault(waiting.name, waiting)
        created = []
        for partition in sorted(wanted.values(), key=lambda p: p.start):
            if any(p.start < partition.end and partition.start < p.end for p in have):
                continue  # covered (also by a partition of the other period length)
            moved = await create(conn, partition)
            have.append(partition)
            created.append(partition.name)
            log.info("partition %s created (%d rows moved from the default)", partition.name, moved)
    return created


async def drop_before(conn: asyncpg.Connection, cutoff: datetime) -> int:
    """Drop every partition that ends at or before `cutoff`; the number of rows they held."""
    dropped = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        for partition in await existing(conn):
            if partition.end > cutoff:
                continue
            dropped += await conn.fetchval(f"SELECT count(*) FROM {partition.name}")
            await conn.execute(f"ALTER TABLE events DETACH PARTITION {partition.name}")
            await conn.execute(f"DROP TABLE {partition.name}")
            log.info("partition %s dropped by retention", partition.name)
    return dropped


async def keep_ahead(pool: asyncpg.Pool, period: str, every_s: float = MAINTAIN_EVERY_S) -> None:
    """Keep partitions created ahead until cancelled; a failed round is retried later."""
    while True:
        await asyncio.sleep(every_s)
        try:
            async with pool.acquire() as conn:
                await ensure(conn, period)
        except Exception:
            log.exception("creating partitions failed; will retry")
