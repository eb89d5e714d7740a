"""Time partitions of the PostgreSQL events table, against a real PostgreSQL: creation ahead,
rows moved out of the default partition, retention by partition drop, and the online
conversion of a populated unpartitioned table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from agentmon.cli import main
from agentmon.events import Envelope, new_event
from agentmon.store import partitions
from agentmon.store.partition_events import convert
from agentmon.store.postgres import PostgresStore

NOW = datetime.now(UTC)


def events(count: int, ts: datetime, prefix: str) -> list[Envelope]:
    return [
        new_event("session.start", framework="f", session_id=f"{prefix}{i}", ts=ts)
        for i in range(count)
    ]


@pytest.fixture
async def store(make_database: Callable[[], str]) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(make_database())
    await opened.open()
    yield opened
    await opened.close()


async def where_rows_are(store: PostgresStore) -> dict[str, int]:
    rows = await store.fetch(
        "SELECT tableoid::regclass::text AS part, count(*) AS n FROM events GROUP BY 1", []
    )
    return {row["part"]: row["n"] for row in rows}


def test_partition_periods_start_at_utc_midnight_and_monday() -> None:
    ts = datetime(2026, 12, 5, 13, 30, tzinfo=UTC)  # a Saturday
    assert partitions.partition_for(ts, "day").name == "events_p20261205"
    week = partitions.partition_for(ts, "week")
    assert week.name == "events_p20261130" and week.end - week.start == timedelta(days=7)
    assert [p.name for p in partitions.upcoming(ts, "day", 2)] == [
        "events_p20261205",
        "events_p20261206",
        "events_p20261207",
    ]
    span = partitions.between(ts - timedelta(days=20), ts, "week")
    assert span[0].start <= ts - timedelta(days=20) and span[-1].start > ts


async def test_a_new_install_is_partitioned_with_partitions_ahead(store: PostgresStore) -> None:
    assert store.partitioned
    async with store.pool.acquire() as conn:
        names = [p.name for p in await partitions.existing(conn)]
    assert names == [p.name for p in partitions.upcoming(NOW, "day")]
    await store.write(events(3, NOW, "now"))
    assert await where_rows_are(store) == {partitions.partition_for(NOW, "day").name: 3}


async def test_redelivered_events_are_stored_once(store: PostgresStore) -> None:
    batch = events(5, NOW, "s")
    first = await store.write(batch)
    again = await store.write(batch + events(1, NOW, "t"))
    assert len(first.new_events) == 5 and len(again.new_events) == 1
    assert await store.count_events() == 6


async def test_late_events_wait_in_the_default_partition_then_get_their_own(
    store: PostgresStore,
) -> None:
    late = NOW - timedelta(days=30)
    await store.write(events(4, late, "late"))
    assert await where_rows_are(store) == {"events_default": 4}
    async with store.pool.acquire() as conn:
        created = await partitions.ensure(conn, "day")
    assert created == [partitions.partition_for(late, "day").name]
    assert await where_rows_are(store) == {created[0]: 4}


async def test_retention_drops_whole_partitions_and_keeps_a_straddling_one(
    store: PostgresStore,
) -> None:
    old, straddling = NOW - timedelta(days=20), NOW - timedelta(days=7)
    await store.write(events(6, old, "old") + events(2, straddling, "mid") + events(3, NOW, "n"))
    await store.write(events(2, NOW - timedelta(days=40), "ancient"))
    async with store.pool.acquire() as conn:
        await partitions.ensure(conn, "day")
    await store.write(events(1, NOW - timedelta(days=50), "in-default"))
    statements: list[str] = []
    execute = store.execute

    async def seen(sql: str, params: list[object]) -> int:
        statements.append(sql)
        return await execute(sql, params)

    store.execute = seen  # type: ignore[method-assign]
    cutoff = partitions.period_start(straddling, "day") + timedelta(hours=12)
    deleted = await store.prune(int(cutoff.timestamp() * 1000))
    assert deleted["events"] == 6 + 2 + 1
    remaining = await where_rows_are(store)
    assert remaining == {
        partitions.partition_for(straddling, "day").name: 2,
        partitions.partition_for(NOW, "day").name: 3,
    }
    events_deletes = [s for s in statements if s.startswith("DELETE FROM events ")]
    assert events_deletes and all("events_default" in s for s in events_deletes)
    async with store.pool.acquire() as conn:
        names = {p.name for p in await partitions.existing(conn)}
    assert partitions.partition_for(old, "day").name not in names


async def test_weekly_partitions(make_database: Callable[[], str]) -> None:
    store = PostgresStore(make_database(), partition_period="week")
    await store.open()
    try:
        async with store.pool.acquire() as conn:
            parts = await partitions.existing(conn)
        assert all(p.end - p.start == timedelta(days=7) for p in parts)
        assert parts[0].start.weekday() == 0
    finally:
        await store.close()


async def _unpartitioned(url: str) -> PostgresStore:
    """A store on a database laid out as before migration 012 (events holds rows)."""
    store = PostgresStore(url)
    conn = await asyncpg.connect(url)
    try:
        await PostgresStore._migrate(conn)
        await conn.execute(
            "DROP TABLE events CASCADE; CREATE TABLE events (event_id TEXT PRIMARY KEY, "
            "ts TIMESTAMPTZ NOT NULL, type TEXT NOT NULL, session_id TEXT, run_id TEXT, "
            "trace_id TEXT, span_id TEXT, parent_span_id TEXT, source_framework TEXT, "
            "client_id TEXT, payload JSONB NOT NULL);"
            "CREATE INDEX events_ts ON events (ts DESC);"
            "CREATE INDEX events_session_ts ON events (session_id, ts DESC);"
        )
    finally:
        await conn.close()
    await store.open()
    assert not store.partitioned
    return store


async def test_a_populated_install_converts_online_while_events_keep_arriving(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    store = await _unpartitioned(url)
    try:
        for day in range(10):
            await store.write(events(300, NOW - timedelta(days=day, hours=3), f"d{day}-"))
        before = await store.fetch("SELECT event_id, ts, payload FROM events ORDER BY 1", [])
        arriving: list[Envelope] = []

        async def keep_writing() -> None:
            for round_ in range(40):
                batch = events(5, NOW - timedelta(days=round_ % 10), f"live{round_}-")
                await store.write(batch)
                arriving.extend(batch)
                await asyncio.sleep(0.01)

        conn = await asyncpg.connect(url)
        try:
            writer = asyncio.create_task(keep_writing())
            outcome = await convert(conn, "day", batch_rows=250)
            await writer
        finally:
            await conn.close()
        assert outcome.copied >= 3000 and not outcome.already
        await store.write(events(7, NOW, "after"))  # the open store's statements follow the swap
        expected = 3000 + len(arriving) + 7
        assert await store.count_events() == expected
        rows = await store.fetch("SELECT event_id, ts, payload FROM events ORDER BY 1", [])
        assert len({r["event_id"] for r in rows}) == expected
        kept = {r["event_id"]: r for r in rows}
        assert all(kept[r["event_id"]] == r for r in before)  # the original rows, unchanged
        assert "events_default" not in await where_rows_are(store)
        old = await store.fetch("SELECT count(*) AS n FROM events_unpartitioned", [])
        assert 3000 <= old[0]["n"] <= expected - 7  # what it held at the swap
        cutoff = NOW - timedelta(days=5)
        # whole days go; the cutoff's own day straddles it and stays until it is all past
        cutoff_day = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
        older = await store.fetch("SELECT count(*) AS n FROM events WHERE ts < $1", [cutoff_day])
        deleted = await store.prune(int(cutoff.timestamp() * 1000))
        assert deleted["events"] == older[0]["n"] >= 1200
    finally:
        await store.close()


def test_the_command_converts_and_says_when_there_is_nothing_left_to_do(
    make_database: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = make_database()

    async def seed() -> None:
        store = await _unpartitioned(url)
        await store.write(events(50, NOW - timedelta(days=2), "x"))
        await store.close()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    argv = ["--env-file", "/nonexistent", "migrate", "partition-events", "--batch-rows", "20"]
    assert main([*argv, "--drop-old"]) == 0
    out = capsys.readouterr().out
    assert "events partitioned: 50 events copied" in out and "copied 40 events" in out
    assert main(argv) == 0
    assert "already partitioned" in capsys.readouterr().out


def test_the_command_refuses_bad_input_clearly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit):
        main(["migrate", "partition-events", "--batch-rows", "0"])
    assert "whole number above zero" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["migrate", "partition-everything"])
    assert "invalid choice" in capsys.readouterr().err
