"""SQLite adapter for embedded mode: one writer thread, a few reader threads, WAL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agentmon.events import Envelope
from agentmon.store import agents, loops, search
from agentmon.store.base import EVENT_COLUMNS, Store, WriteResult, event_row, unique_by_id
from agentmon.store.errors import unavailable_on
from agentmon.store.migrations import migration_scripts
from agentmon.store.queries import Row
from agentmon.store.tables import rows_as_tuples

log = logging.getLogger("agentmon.store.sqlite")

_EVENT_MARKS = ", ".join("?" * len(EVENT_COLUMNS))
_EVENT_INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({_EVENT_MARKS})"
_ID_CHUNK = 500
CHECKPOINT_INTERVAL_S = 0.5
# locked, busy, disk full, I/O error, cannot open: the file, not the data, is at fault
_UNAVAILABLE = (sqlite3.OperationalError,)
# the WAL is truncated once it passes an eighth of this, leaving room for the writes that
# arrive before the truncation gets its turn between two batches
WAL_LIMIT_BYTES = 64 * 1024 * 1024
TRUNCATE_INTERVAL_S = 60.0
TRUNCATE_BUSY_MS = 250
VACUUM_INTERVAL_S = 10.0
# 4 MiB of 4 KiB pages per round: each moved page is written to the WAL too, and 16 MiB
# rounds pushed the WAL past its limit under load
VACUUM_PAGES = 1024
INCREMENTAL = 2  # PRAGMA auto_vacuum value
READER_CACHE_KIB = 16 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class SQLiteStore(Store):
    dialect = "sqlite"

    def __init__(self, path: Path, idle_timeout_s: float = 1800.0, readers: int = 4) -> None:
        self.path = path
        self.idle_timeout_ms = int(idle_timeout_s * 1000)
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="agentmon-sqlite-writer")
        self._reader_pool = ThreadPoolExecutor(readers, thread_name_prefix="agentmon-sqlite-read")
        self._local = threading.local()
        self._writer: sqlite3.Connection | None = None
        self._upserts: dict[str, str] = {}
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        await self._in_writer(self._open_writer)

    def _open_writer(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # before the first table exists, so a new database starts with it
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process dying (kill -9); only an OS crash or
        # power loss can lose the last transactions.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA cache_size=-16384")
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        # checkpoints run on their own connection and thread, not inside the writer's commits
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._migrate(conn)
        self._use_incremental_vacuum(conn)
        self._writer = conn
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="agentmon-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _use_incremental_vacuum(self, conn: sqlite3.Connection) -> None:
        """A database made before agentmon used incremental vacuum is rebuilt once with it,
        so space freed by retention can be given back to the file system."""
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL:
            return
        log.info(
            "rebuilding %s once for incremental vacuum (VACUUM); this may take a while", self.path
        )
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database twice a second (PASSIVE never blocks the writer).

        Under constant writes a PASSIVE checkpoint never catches up with the writer, so the
        WAL is never restarted and grows without bound; once it passes an eighth of its
        limit (and at least every TRUNCATE_INTERVAL_S) a TRUNCATE checkpoint runs in the
        writer's own thread, between two batches, where no other writer can starve it.
        Free pages left by retention go back to the file system every VACUUM_INTERVAL_S."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=1000")
        wal = self.path.with_name(self.path.name + "-wal")
        last_truncate = last_vacuum = time.monotonic()
        try:
            while not self._closing.wait(CHECKPOINT_INTERVAL_S):
                now = time.monotonic()
                try:
                    if (
                        _size(wal) > WAL_LIMIT_BYTES // 8
                        or now - last_truncate > TRUNCATE_INTERVAL_S
                    ):
                        self._writer_pool.submit(self._truncate_wal).result()
                        last_truncate = now
                    else:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    if now - last_vacuum > VACUUM_INTERVAL_S:
                        last_vacuum = now
                        self._writer_pool.submit(self._vacuum_some).result()
                except sqlite3.OperationalError as exc:  # busy: the next round tries again
                    log.debug("checkpoint round skipped: %s", exc)
                except RuntimeError:  # the writer pool is shutting down
                    return
        finally:
            conn.close()

    def _truncate_wal(self) -> None:
        """In the writer thread: wait briefly for readers, never long for the ingest path."""
        conn = self._writer
        if conn is None:
            return
        conn.execute(f"PRAGMA busy_timeout={TRUNCATE_BUSY_MS}")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.execute("PRAGMA busy_timeout=10000")

    def _vacuum_some(self) -> None:
        conn = self._writer
        if conn is not None and conn.execute("PRAGMA freelist_count").fetchone()[0]:
            # executescript steps the pragma to its end; execute() would free a single page
            conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT DEFAULT CURRENT_TIMESTAMP)"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_scripts("sqlite"):
            if version in done:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        self._closing.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
        if self._writer is not None:
            await self._in_writer(self._writer.close)
            self._writer = None
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)

    async def _in_writer(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, fn, *args)

    # --- writes ------------------------------------------------------------------------

    async def write(self, events: list[Envelope]) -> WriteResult:
        with unavailable_on(_UNAVAILABLE):
            result: WriteResult = await self._in_writer(self._write_sync, events)
        return result

    def _write_sync(self, events: list[Envelope]) -> WriteResult:
        conn = self._writer
        assert conn is not None, "store not open"
        conn.execute("BEGIN IMMEDIATE")
        try:
            new_events = self._insert_new_events(conn, events)
            projection = self.project(new_events)
            for table, rows in projection.nonempty():
                sql = self._upserts.get(table.name)
                if sql is None:
                    marks = ", ".join("?" * len(table.column_names))
                    sql = self._upserts[table.name] = table.upsert_sql(
                        "sqlite", f"VALUES ({marks})"
                    )
                conn.executemany(sql, rows_as_tuples(table, rows))
            loops.recount_sqlite(conn, projection)
            agents.keep_latest_sqlite(conn, projection)
            search.write_sqlite(conn, new_events, self.search_max_chars)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return WriteResult(new_events, projection.model_calls)

    @staticmethod
    def _insert_new_events(conn: sqlite3.Connection, events: list[Envelope]) -> list[Envelope]:
        unique = unique_by_id(events)
        ids = [event.event.id for event in unique]
        seen: set[str] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk)
            seen.update(row[0] for row in rows)
        new_events = [event for event in unique if event.event.id not in seen]
        conn.executemany(
            _EVENT_INSERT,
            [event_row(event) for event in new_events],
        )
        return new_events

    async def execute(self, sql: str, params: list[Any]) -> int:
        def run() -> int:
            assert self._writer is not None, "store not open"
            return self._writer.execute(sql, params).rowcount

        changed: int = await self._in_writer(run)
        return changed

    async def dead_letter(self, reason: str, data: bytes) -> None:
        def insert() -> None:
            assert self._writer is not None
            self._writer.execute(
                "INSERT INTO dead_letters (reason, data) VALUES (?, ?)", (reason, data)
            )

        with unavailable_on(_UNAVAILABLE):
            await self._in_writer(insert)

    # --- reads -------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            # SQLite's default 2 MiB page cache holds less than one roster of 1,000 agents
            # reads (the roster query: 14 -> 12 ms CPU); at most this much per reader thread
            conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
            self._local.conn = conn
        return conn

    def _fetch_sync(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        # tuples zipped with the names: half the cost of dict(sqlite3.Row) on wide rows (a
        # thousand roster rows); a repeated name keeps its first column, as sqlite3.Row does
        cursor = self._reader().execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        if len(set(names)) < len(names):
            first = {name: names.index(name) for name in names}
            return [{name: row[index] for name, index in first.items()} for row in cursor]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    async def fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._fetch_sync, sql, params)

    async def fetch_each(self, queries: Sequence[tuple[str, list[Any]]]) -> list[list[Row]]:
        """One after the other on one reader thread: one hand-off for all of them."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._fetch_each_sync, queries)

    def _fetch_each_sync(self, queries: Sequence[tuple[str, list[Any]]]) -> list[list[Row]]:
        return [self._fetch_sync(sql, params) for sql, params in queries]

    def in_list(self, column: str, values: list[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def ts_param(self, ts: str) -> Any:
        return ts
