"""The limit a benchmark is measured against: the same rows inserted raw into the same store.

Each ingest benchmark round also inserts its events, as rows of the original `events` table
and nothing else (no projection, no HTTP, no bus), into a scratch copy of the schema on the
same store: SQLite with the store's pragmas, one transaction per `group` rows (the size a
busy group commit reaches); PostgreSQL with binary COPY in chunks of `group` rows. The ratio
end-to-end / raw is steadier than either figure on a shared machine, since load from
elsewhere slows both alike.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import admin_sql

from agentmon.events import Envelope
from agentmon.store.base import EVENT_COLUMNS, event_row
from agentmon.store.migrations import migration_scripts
from agentmon.store.postgres import _parse_ts


class SQLiteRaw:
    """A scratch SQLite file with agentmon's schema and the store's writer pragmas."""

    def __init__(self, path: Path, group: int = 1000) -> None:
        self.group = group
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        for _, _, sql in migration_scripts("sqlite"):
            for statement in sql.split(";\n"):
                if statement.strip():
                    self.conn.execute(statement)
        marks = ", ".join("?" * len(EVENT_COLUMNS))
        self.insert = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"

    def rate(self, events: list[Envelope]) -> float:
        """Rows/s inserting `events` (each as its `events` row), encoding included."""
        started = time.perf_counter()
        for start in range(0, len(events), self.group):
            rows = [event_row(event) for event in events[start : start + self.group]]
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(self.insert, rows)
            self.conn.execute("COMMIT")
        return len(events) / (time.perf_counter() - started)

    def close(self) -> None:
        self.conn.close()


class PostgresRaw:
    """A scratch database on the same PostgreSQL server, migrated to agentmon's schema."""

    def __init__(self, base_dsn: str, group: int = 1000) -> None:
        self.base_dsn = base_dsn
        self.group = group
        self.database = f"agentmon_raw_{uuid.uuid4().hex[:8]}"
        admin_sql(base_dsn, f'CREATE DATABASE "{self.database}"')
        asyncio.run(self._migrate())

    @property
    def dsn(self) -> str:
        return f"{self.base_dsn}/{self.database}"

    async def _migrate(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            for _, _, sql in migration_scripts("postgres"):
                await conn.execute(sql)
        finally:
            await conn.close()

    def rate(self, events: list[Envelope]) -> float:
        return asyncio.run(self._rate(events))

    async def _rate(self, events: list[Envelope]) -> float:
        conn = await asyncpg.connect(self.dsn)
        try:
            started = time.perf_counter()
            for start in range(0, len(events), self.group):
                rows = [_pg_row(event) for event in events[start : start + self.group]]
                await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
            return len(events) / (time.perf_counter() - started)
        finally:
            await conn.close()

    def close(self) -> None:
        admin_sql(self.base_dsn, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _pg_row(event: Envelope) -> tuple[Any, ...]:
    row = event_row(event)
    return (row[0], _parse_ts(row[1]), *row[2:])
