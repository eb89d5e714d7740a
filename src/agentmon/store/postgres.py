"""PostgreSQL adapter for distributed mode (asyncpg).

Events go in with a binary COPY into the connection's temporary `events_staging`, then one
`INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING event_id`, so concurrent processors agree
on which events are new and project each exactly once; the read models and the search
documents are upserted by one statement per batch (a data-modifying CTE per table, each a
multi-row `unnest`): one round trip where there were one per table, which on a busy machine
cost a scheduling delay each.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg

from agentmon.events import Envelope
from agentmon.store import agents, base, loops, partitions, search
from agentmon.store.base import EVENT_COLUMNS, Store, WriteResult, event_row, unique_by_id
from agentmon.store.errors import unavailable_on
from agentmon.store.migrations import migration_scripts
from agentmon.store.search import Doc
from agentmon.store.tables import READ_MODELS, Table, rows_as_tuples

_MIGRATION_LOCK = 0x6167656E746D6F6E  # "agentmon"
# combined upsert statements kept (one per set of tables a batch touches); past this, made again
_MAX_UPSERTS = 256
_ARRAY_TYPES = {"text": "text[]", "bigint": "int8[]", "double precision": "float8[]"}
# one per server connection, emptied at every commit: the batch is COPYed in binary, then moved.
# Made by each write's own transaction: behind PgBouncer's transaction pooling the transaction
# may run on a server connection this client never used before.
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS events_staging (event_id text, ts timestamptz, type text, "
    "session_id text, run_id text, trace_id text, span_id text, parent_span_id text, "
    "source_framework text, client_id text, payload jsonb) ON COMMIT DELETE ROWS"
)
_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"SELECT {', '.join(EVENT_COLUMNS)} FROM events_staging "
    "ON CONFLICT DO NOTHING RETURNING event_id"  # the key is (event_id, ts) once partitioned
)
# `PostgresStore.reading`: one snapshot for every read of an answer, and custom plans. A
# statement asyncpg has prepared (its cache) gets PostgreSQL's generic plan after five runs,
# which cannot hash a parameter array: the status CASE's `= ANY($n)` lists (lost VMs, looping
# sessions) are then scanned for every session, 11 ms instead of 7 for 1,000 agents. SET LOCAL
# ends with the transaction, so it holds behind PgBouncer's transaction pooling too (where
# asyncpg prepares nothing and every plan is custom anyway). One round trip for both.
_BEGIN_READING = (
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan"
)
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # shutting down, cannot connect now, query cancelled
    asyncpg.InsufficientResourcesError,  # too many connections, disk full, out of memory
    asyncpg.InterfaceError,  # the connection closed under the operation
)
_DATA_ERRORS = (ValueError,)  # asyncpg's client-side DataError is an InterfaceError too


def numbered(sql: str) -> str:
    """`?` placeholders → `$1, $2, …`."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _parse_ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts[:-1] + "+00:00")


class PostgresStore(Store):
    dialect = "postgres"

    def __init__(
        self,
        dsn: str,
        idle_timeout_s: float = 1800.0,
        pool_size: int = 8,
        partition_period: str = "day",
        statement_cache_size: int = 100,
    ) -> None:
        self.dsn = dsn
        self.statement_cache_size = statement_cache_size
        self.partition_period = partition_period
        self.partitioned = False
        self.idle_timeout_ms = int(idle_timeout_s * 1000)
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        # the connection (and its turn) of the `reading` block the current task is in
        self._reading: contextvars.ContextVar[tuple[asyncpg.Connection, asyncio.Lock] | None] = (
            contextvars.ContextVar(f"agentmon_reading_{id(self)}", default=None)
        )
        # per target table: its upsert for a row source, and its columns' types in order
        self._targets: dict[str, tuple[Callable[[str], str], list[str]]] = {}
        self._upserts: dict[tuple[str, ...], str] = {}  # the statement for these targets

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store not open"
        return self._pool

    async def open(self) -> None:
        # 0 behind PgBouncer's transaction pooling: a named prepared statement lives on one
        # server connection, and the next transaction may run on another
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            statement_cache_size=self.statement_cache_size,
        )
        async with self.pool.acquire() as conn:
            await self._migrate(conn)
            await self._prepare_upserts(conn)
            await partitions.ensure(conn, self.partition_period)
            self.partitioned = await partitions.is_partitioned(conn)

    @staticmethod
    async def _migrate(conn: asyncpg.Connection) -> None:
        # one transaction holding a transaction lock: a session lock taken and released by
        # separate statements could be taken on one PgBouncer server connection and released
        # on another
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, "
                "name TEXT, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in migration_scripts("postgres"):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version,
                        name,
                    )

    async def _prepare_upserts(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        types = {(r["table_name"], r["column_name"]): r["data_type"] for r in rows}
        for table in READ_MODELS:
            column_types = [types[(table.name, name)] for name in table.column_names]
            self._targets[table.name] = (partial(table.upsert_sql, "postgres"), column_types)
        doc_types = [types[(search.DOCS_TABLE, name)] for name in search.DOC_COLUMNS]
        self._targets[search.DOCS_TABLE] = (search.upsert_sql, doc_types)

    def _upsert_sql(self, targets: tuple[str, ...]) -> str:
        """One statement upserting into each of `targets`: a data-modifying CTE each, its rows
        an `unnest` of one array parameter per column, numbered on from the previous one's."""
        sql = self._upserts.get(targets)
        if sql is None:
            parts, first = [], 1
            for index, name in enumerate(targets):
                upsert, column_types = self._targets[name]
                arrays = ", ".join(
                    f"${i}::{_ARRAY_TYPES[t]}" for i, t in enumerate(column_types, start=first)
                )
                parts.append(f"u{index} AS ({upsert(f'SELECT * FROM unnest({arrays})')})")
                first += len(column_types)
            if len(self._upserts) >= _MAX_UPSERTS:  # more combinations than batches make
                self._upserts.clear()
            sql = self._upserts[targets] = f"WITH {', '.join(parts)} SELECT 1"
        return sql

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- writes ------------------------------------------------------------------------

    async def write(self, events: list[Envelope]) -> WriteResult:
        unique = unique_by_id(events)
        for attempt in range(5):
            try:
                with unavailable_on(_UNAVAILABLE, unless=_DATA_ERRORS):
                    return await self._write_once(unique)
            except _RETRYABLE:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _write_once(self, events: list[Envelope]) -> WriteResult:
        rows = [(row[0], _parse_ts(row[1]), *row[2:]) for row in map(event_row, events)]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_CREATE_STAGING)
            await conn.copy_records_to_table("events_staging", records=rows, columns=EVENT_COLUMNS)
            inserted = {r["event_id"] for r in await conn.fetch(_INSERT_EVENTS)}
            new_events = [event for event in events if event.event.id in inserted]
            projection = self.project(new_events)
            docs = search.documents(new_events, self.search_max_chars)
            await self._upsert(conn, projection.nonempty(), docs)
            await loops.recount_postgres(conn, projection)
            await agents.keep_latest_postgres(conn, projection)
        return WriteResult(new_events, projection.model_calls)

    async def _upsert(
        self,
        conn: asyncpg.Connection,
        tables: list[tuple[Table, list[dict[str, Any]]]],
        docs: list[Doc],
    ) -> None:
        """The batch's read-model rows (each table's sorted by key, so concurrent processors
        lock rows in one order) and search documents (in key order), in one statement."""
        targets: list[str] = []
        arrays: list[list[Any]] = []
        for table, rows in tables:
            ordered = sorted(
                rows_as_tuples(table, rows), key=lambda r: tuple(map(str, r[: len(table.key)]))
            )
            targets.append(table.name)
            arrays += self._arrays(table.name, ordered)
        if docs:
            targets.append(search.DOCS_TABLE)
            arrays += self._arrays(search.DOCS_TABLE, docs)
        if targets:
            await conn.execute(self._upsert_sql(tuple(targets)), *arrays)

    def _arrays(self, target: str, rows: list[tuple[Any, ...]]) -> list[list[Any]]:
        """Rows as one list per column, as the `unnest` takes them."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        for index, kind in enumerate(self._targets[target][1]):
            if kind == "double precision":
                columns[index] = [None if v is None else float(v) for v in columns[index]]
        return columns

    # --- retention and partitions ----------------------------------------------------------

    async def prune(self, before_ms: int) -> dict[str, int]:
        """Partitioned `events`: drop the partitions wholly older than the cutoff (a partition
        that straddles it stays until it is all past), then delete old rows from the default
        partition in chunks; every other table in chunks as on SQLite."""
        cutoff = datetime.fromtimestamp(before_ms / 1000, UTC)
        async with self.pool.acquire() as conn:  # converted by `agentmon migrate` meanwhile?
            self.partitioned = await partitions.is_partitioned(conn)
            dropped = await partitions.drop_before(conn, cutoff) if self.partitioned else 0
        deleted = await super().prune(before_ms)
        deleted["events"] += dropped
        return deleted

    def prune_chunk_sql(self, table: str, condition: str) -> str:
        if table != "events" or not self.partitioned:
            return super().prune_chunk_sql(table, condition)
        default = partitions.DEFAULT_PARTITION
        chosen = f"SELECT ctid FROM {default} WHERE {condition} LIMIT {base.PRUNE_CHUNK_ROWS}"
        return (
            f"DELETE FROM events WHERE tableoid = '{default}'::regclass "
            f"AND ctid = ANY(ARRAY({chosen}))"
        )

    async def keep_partitions_ahead(self) -> None:
        """Create upcoming partitions every hour until cancelled (a no-op when unpartitioned)."""
        await partitions.keep_ahead(self.pool, self.partition_period)

    async def execute(self, sql: str, params: list[Any]) -> int:
        status = await self.pool.execute(numbered(sql), *params)
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def dead_letter(self, reason: str, data: bytes) -> None:
        with unavailable_on(_UNAVAILABLE, unless=_DATA_ERRORS):
            await self.pool.execute(
                "INSERT INTO dead_letters (reason, data) VALUES ($1, $2)", reason, data
            )

    # --- reads -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """The reads within run in one read-only transaction on one connection (one at a
        time, as a connection takes them): one snapshot, one pool round trip instead of one
        per read, and custom plans (`_BEGIN_READING`). Nested, the outer one serves."""
        if self._reading.get() is not None:
            yield
            return
        async with self.pool.acquire() as conn:
            await conn.execute(_BEGIN_READING)
            token = self._reading.set((conn, asyncio.Lock()))
            try:
                yield
            finally:
                self._reading.reset(token)
            await conn.execute("COMMIT")  # on an error the pool's release rolls back

    async def fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        bound = self._reading.get()
        if bound is None:
            rows = await self.pool.fetch(numbered(sql), *params)
        else:
            conn, turn = bound
            async with turn:
                rows = await conn.fetch(numbered(sql), *params)
        return [dict(row) for row in rows]

    def in_list(self, column: str, values: list[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def ts_param(self, ts: str) -> Any:
        return _parse_ts(ts)
