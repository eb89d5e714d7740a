"""bench/fast_seed.py against a real PostgreSQL: the seeded database is what agentmon's own
schema looks like with N events in it (day partitions attached, every index back, read models
matching the events), so the query benchmark measures the real layout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from bench import fast_seed

from agentmon.store import partitions
from agentmon.store.postgres import PostgresStore

SESSIONS = 200
EVENTS = SESSIONS * fast_seed.EVENTS_PER_SESSION


async def _indexes(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY($1::text[])",
        list(fast_seed.READ_MODELS),
    )
    return {(row["tablename"], row["indexname"]) for row in rows}


@pytest.mark.parametrize("partitioned", [True, False])
async def test_the_seed_fills_the_real_schema(
    make_database: Callable[[], str], partitioned: bool
) -> None:
    dsn = make_database()
    store = PostgresStore(dsn)
    await store.open()
    await store.close()
    conn = await asyncpg.connect(dsn)
    try:
        if not partitioned:
            await conn.execute(
                "DROP TABLE events; CREATE TABLE events (event_id TEXT PRIMARY KEY, "
                "ts TIMESTAMPTZ NOT NULL, type TEXT NOT NULL, session_id TEXT, run_id TEXT, "
                "trace_id TEXT, span_id TEXT, parent_span_id TEXT, source_framework TEXT, "
                "client_id TEXT, payload JSONB NOT NULL); "
                "CREATE INDEX events_ts ON events (ts DESC)"
            )
        indexes_before = await _indexes(conn)
        started = datetime.now(UTC)

        assert await fast_seed.seed(dsn, EVENTS + 5) == EVENTS  # whole sessions only

        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM events) AS events, "
            "(SELECT count(DISTINCT session_id) FROM events) AS event_sessions, "
            "(SELECT min(ts) FROM events) AS oldest, (SELECT max(ts) FROM events) AS newest, "
            "(SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM runs) AS runs, "
            "(SELECT count(*) FROM spans) AS spans, "
            "(SELECT count(*) FROM events e LEFT JOIN sessions s USING (session_id) "
            " WHERE s.session_id IS NULL) AS orphans"
        )
        assert counts["events"] == EVENTS and counts["event_sessions"] == SESSIONS
        assert counts["sessions"] == SESSIONS and counts["runs"] == SESSIONS * 4
        assert counts["spans"] == SESSIONS * 4 * fast_seed.SPANS_PER_RUN
        assert counts["orphans"] == 0
        assert started - timedelta(days=7, seconds=5) <= counts["oldest"]
        assert counts["newest"] <= datetime.now(UTC)
        assert await _indexes(conn) == indexes_before
        if partitioned:
            assert await conn.fetchval("SELECT count(*) FROM events_default") == 0
            days = {p.name for p in await partitions.existing(conn)}
            assert {d.partition.name for d in fast_seed.day_slices(EVENTS, started)} <= days
            leftovers = await conn.fetchval(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'events%load'"
            )
            assert leftovers == 0
        else:
            assert (
                await conn.fetchval("SELECT count(*) FROM pg_indexes WHERE tablename = 'events'")
                == 2
            )
    finally:
        await conn.close()
    # the store opens on the seeded database and reads it
    store = PostgresStore(dsn)
    await store.open()
    try:
        assert await store.count_events() == EVENTS
    finally:
        await store.close()
