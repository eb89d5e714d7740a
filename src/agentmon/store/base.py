"""The store: the adapter interface (writes, dead letters, retention) over the queries.

Every query's SQL lives in `agentmon.store.queries`; an adapter (SQLite, PostgreSQL) supplies
the connection, the placeholder style and a few dialect words. Only the processor calls
`write`; the query API only reads.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass, field
from typing import Any

from agentmon.events import Envelope, encode, ms_to_ts
from agentmon.store.projection import ModelCall, Projection, project
from agentmon.store.queries import NotFound, Queries
from agentmon.store.search import DEFAULT_MAX_CHARS as DEFAULT_SEARCH_CHARS

__all__ = ["NotFound", "Store", "WriteResult", "event_row", "unique_by_id"]


PRUNE_CONDITIONS = (
    ("events", "ts < ?"),
    ("sessions", "last_ts < ?"),
    ("runs", "last_ts < ?"),
    ("spans", "coalesce(ended_at, first_ts) < ?"),
    ("errors", "ts < ?"),
    ("model_usage", "last_ts < ?"),
    ("usage_hour", "bucket < ?"),
    ("rollup_minute", "bucket < ?"),
    ("rollup_hour", "bucket < ?"),
    ("tool_rollup_minute", "bucket < ?"),
    ("tool_rollup_hour", "bucket < ?"),
    ("vm_history", "ts < ?"),
    ("facets", "last_ts < ?"),
    ("attention_acks", "acked_ms < ?"),
    ("alert_history", "fired_ms < ?"),
    ("search_docs", "ts < ?"),
    ("agents", "last_ts < ?"),
    ("agent_quarter", "bucket < ?"),
    ("agent_waits", "ts < ?"),
)
PRUNE_CHUNK_ROWS = 2000
PRUNE_PAUSE_S = 0.005


@dataclass(frozen=True)
class WriteResult:
    new_events: list[Envelope]
    model_calls: list[ModelCall] = field(default_factory=list)  # as priced by the projection


class Store(Queries):
    dialect: str
    idle_timeout_ms: int
    search_max_chars: int = DEFAULT_SEARCH_CHARS

    # --- adapter surface -------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, events: list[Envelope]) -> WriteResult:
        """Store the events not stored before and project them; one transaction."""

    @abc.abstractmethod
    async def dead_letter(self, reason: str, data: bytes) -> None: ...

    # --- shared helpers ----------------------------------------------------------------

    @staticmethod
    def project(events: list[Envelope]) -> Projection:
        return project(events)

    async def health(self) -> str:
        try:
            await self.fetch("SELECT 1 AS ok", [])
        except Exception as exc:  # any driver error means the store is not usable
            return f"error: {exc}"
        return "ok"

    # --- retention -----------------------------------------------------------------------

    async def prune(self, before_ms: int) -> dict[str, int]:
        """Delete what is older than `before_ms` from every table; rows deleted per table.

        In chunks of PRUNE_CHUNK_ROWS rows, each its own short transaction, yielding between
        them, so the writer takes ingest batches in between instead of stalling behind one
        delete of millions of rows."""
        before_ts = self.ts_param(ms_to_ts(before_ms))
        deleted = {}
        for table, condition in PRUNE_CONDITIONS:
            param = before_ts if table == "events" else before_ms
            delete_chunk = self.prune_chunk_sql(table, condition)
            deleted[table] = 0
            while True:
                count = await self.execute(delete_chunk, [param])
                deleted[table] += count
                if count < PRUNE_CHUNK_ROWS:
                    break
                await asyncio.sleep(PRUNE_PAUSE_S)
        return deleted

    def prune_chunk_sql(self, table: str, condition: str) -> str:
        """One chunk's DELETE: rows picked by their physical address, at most PRUNE_CHUNK_ROWS."""
        row = "ctid" if self.dialect == "postgres" else "rowid"
        chosen = f"SELECT {row} FROM {table} WHERE {condition} LIMIT {PRUNE_CHUNK_ROWS}"
        in_chunk = f"= ANY(ARRAY({chosen}))" if self.dialect == "postgres" else f"IN ({chosen})"
        return f"DELETE FROM {table} WHERE {row} {in_chunk}"

    @abc.abstractmethod
    async def execute(self, sql: str, params: list[Any]) -> int:
        """Run a write statement in its own transaction; the number of rows it changed."""


# the original `events` table's columns, in the order of `event_row`
EVENT_COLUMNS = (
    "event_id",
    "ts",
    "type",
    "session_id",
    "run_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "source_framework",
    "client_id",
    "payload",
)


def event_row(event: Envelope) -> tuple[Any, ...]:
    """An envelope as a row of the original `events` table (payload = the whole envelope),
    in the order of EVENT_COLUMNS."""
    c = event.correlation
    return (
        event.event.id,
        event.event.ts,
        event.event.type,
        c.session_id,
        c.run_id,
        c.trace_id,
        c.span_id,
        c.parent_span_id,
        event.event.source.framework,
        event.event.source.client_id,
        encode(event).decode(),
    )


def unique_by_id(events: list[Envelope]) -> list[Envelope]:
    """The first occurrence of each event id, in order."""
    seen: set[str] = set()
    unique = []
    for event in events:
        if event.event.id not in seen:
            seen.add(event.event.id)
            unique.append(event)
    return unique
