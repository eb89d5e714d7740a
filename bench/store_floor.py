"""The floor under a store write: its own statements, replayed with no agentmon code between.

`record(store, groups)` writes each group of events through the store as the servers do,
keeping every statement the write sends (SQL and parameters, as sent). `replay(...)` then
sends the same statements, in the same transactions, to a fresh copy of the same store and
times them: the wall time per event is what the store engine needs for agentmon's schema
(events, read models, search index) whatever the Python in front of it costs, so 1 / that
is the most events per second any implementation of this write path could store here.
On PostgreSQL the backend's own CPU per event is read from `/proc` too: the cores that
the database alone needs for a given rate.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from bench import cpu_budget

from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore

Call = tuple[str, tuple[Any, ...], dict[str, Any]]


@dataclass
class Floor:
    events: int
    wall_s: float
    engine_cpu_s: float | None  # PostgreSQL backend CPU; None on SQLite (in this process)
    client_cpu_s: float

    def describe(self, items: int | None = None, unit: str = "event") -> str:
        """Per event, or per `items` of `unit` (the spans the events came from)."""
        count = items or self.events

        def per_item(seconds: float) -> float:
            return seconds / count * 1e6

        rate = count / self.wall_s
        text = f"{per_item(self.wall_s):6.2f} µs per {unit} wall ({rate:,.0f} {unit}s/s)"
        if self.engine_cpu_s is not None:
            engine = self.engine_cpu_s / count
            text += f", PostgreSQL CPU {engine * 1e6:.2f} µs"
            text += f" (for it alone, {cpu_budget.ceiling(engine, unit)})"
        return text + f", replaying client CPU {per_item(self.client_cpu_s):.2f} µs"


# --- SQLite ----------------------------------------------------------------------------------


class _RecordingSQLite:
    """Stands for the writer connection: forwards every call and keeps it."""

    def __init__(self, conn: sqlite3.Connection, calls: list[Call]) -> None:
        self._conn = conn
        self._calls = calls

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        params = list(params) if not isinstance(params, dict) else dict(params)
        self._calls.append(("execute", (sql, params), {}))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = list(rows)
        self._calls.append(("executemany", (sql, rows), {}))
        return self._conn.executemany(sql, rows)


async def record_sqlite(store: SQLiteStore, groups: list[list[Envelope]]) -> list[list[Call]]:
    assert store._writer is not None, "store not open"
    return await _record(store, "_writer", _RecordingSQLite, groups)


async def replay_sqlite(twin: SQLiteStore, writes: list[list[Call]], events: int) -> Floor:
    def run() -> Floor:
        conn = twin._writer
        assert conn is not None, "store not open"
        cpu, wall = time.thread_time(), time.perf_counter()
        for calls in writes:
            for method, args, _ in calls:
                getattr(conn, method)(*args).fetchall()
        return Floor(events, time.perf_counter() - wall, None, time.thread_time() - cpu)

    floor: Floor = await twin._in_writer(run)
    return floor


# --- PostgreSQL ------------------------------------------------------------------------------


class _RecordingPg:
    """Stands for a pooled asyncpg connection: forwards every call and keeps it."""

    def __init__(self, conn: asyncpg.Connection, calls: list[Call]) -> None:
        self._conn = conn
        self._calls = calls

    def transaction(self) -> Any:
        return self._conn.transaction()

    def __getattr__(self, method: str) -> Any:
        real = getattr(self._conn, method)

        async def forward(*args: Any, **kwargs: Any) -> Any:
            if "records" in kwargs:
                kwargs["records"] = list(kwargs["records"])
            self._calls.append((method, args, kwargs))
            return await real(*args, **kwargs)

        return forward


class _RecordingPool:
    def __init__(self, pool: asyncpg.Pool, calls: list[Call]) -> None:
        self._pool = pool
        self._calls = calls

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_RecordingPg]:
        async with self._pool.acquire() as conn:
            yield _RecordingPg(conn, self._calls)


async def record_postgres(store: PostgresStore, groups: list[list[Envelope]]) -> list[list[Call]]:
    assert store._pool is not None, "store not open"
    return await _record(store, "_pool", _RecordingPool, groups)


async def _record(
    store: Store,
    attribute: str,
    recorder: Callable[[Any, list[Call]], Any],
    groups: list[list[Envelope]],
) -> list[list[Call]]:
    """Each group written through `store` with its `attribute` (the connection or pool its
    writes go through) standing behind `recorder`: the calls of each write, in order."""
    writes: list[list[Call]] = []
    real = getattr(store, attribute)
    try:
        for group in groups:
            calls: list[Call] = []
            setattr(store, attribute, recorder(real, calls))
            await store.write(group)
            writes.append(calls)
    finally:
        setattr(store, attribute, real)
    return writes


async def replay_postgres(twin: PostgresStore, writes: list[list[Call]], events: int) -> Floor:
    async with twin.pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        cpu_before, client, wall = _cpu_of(backend), time.process_time(), time.perf_counter()
        for calls in writes:
            async with conn.transaction():
                for method, args, kwargs in calls:
                    await getattr(conn, method)(*args, **kwargs)
        wall_s = time.perf_counter() - wall
        client_s = time.process_time() - client
        engine_s = _cpu_of(backend) - cpu_before
    return Floor(events, wall_s, engine_s, client_s)


async def measure(store: Store, twin: Store, groups: list[list[Envelope]]) -> Floor:
    """`groups` written through `store` as the servers write, then the statements replayed
    into `twin` (the same kind of store, holding the same rows as `store` did)."""
    events = sum(map(len, groups))
    if isinstance(store, SQLiteStore) and isinstance(twin, SQLiteStore):
        return await replay_sqlite(twin, await record_sqlite(store, groups), events)
    assert isinstance(store, PostgresStore) and isinstance(twin, PostgresStore)
    return await replay_postgres(twin, await record_postgres(store, groups), events)


def _cpu_of(pid: int) -> float:
    """utime + stime of a local process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def groups_of(events: list[Envelope], size: int) -> Iterator[list[Envelope]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]
