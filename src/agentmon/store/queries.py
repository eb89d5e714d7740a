"""Every query the API and the export ask, as SQL written once with `?` placeholders.

The methods return rows (dicts keyed by column, plus a few counts joined in); shaping them
into the API's answers is the query layer's job (`agentmon.query.views`). An adapter
supplies `fetch`, `in_list` and `ts_param`.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from agentmon.events import format_ts
from agentmon.store.tables import COST_COUNTS

Row = dict[str, Any]

WINDOWS: dict[str, tuple[int, int, str]] = {
    # window: (span seconds, bucket seconds, rollup table)
    "1h": (3600, 60, "minute"),
    "6h": (6 * 3600, 300, "minute"),
    "24h": (24 * 3600, 900, "minute"),
    "7d": (7 * 86400, 3600, "hour"),
}

SESSION_STATUSES = ("active", "idle", "waiting", "ended", "error")

_NOT_FAILED = "coalesce(s.last_run_status, '') <> 'error'"
_RUNNING = f"s.ended_at IS NULL AND s.waiting_reason IS NULL AND {_NOT_FAILED}"
STATUS_FILTERS = {
    # the same cases as STATUS_SQL, written so the open/waiting partial indexes can serve them
    "active": f"{_RUNNING} AND s.last_ts >= ?",
    "idle": f"{_RUNNING} AND s.last_ts < ?",
    "waiting": "s.ended_at IS NULL AND s.waiting_reason IS NOT NULL",
    "ended": f"s.ended_at IS NOT NULL AND {_NOT_FAILED}",
    "error": "s.last_run_status = 'error' AND (s.ended_at IS NOT NULL OR s.waiting_reason IS NULL)",
}

STATUS_SQL = (
    "CASE WHEN s.ended_at IS NOT NULL THEN "
    "(CASE WHEN s.last_run_status = 'error' THEN 'error' ELSE 'ended' END) "
    "WHEN s.waiting_reason IS NOT NULL THEN 'waiting' "
    "WHEN s.last_run_status = 'error' THEN 'error' "
    "WHEN s.last_ts < ? THEN 'idle' ELSE 'active' END"
)

# events are read this many at a time, so a byte budget stops the reading, not only the answer
EVENT_CHUNK = 50

_SPAN_COUNTS = "count(*) AS n, sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tools FROM spans"


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class EventFilters:
    """Filters on the events table; timestamps are canonical (`normalize_ts`)."""

    event_type: str | None = None
    framework: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    since: str | None = None
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class SessionFilters:
    from_ms: int | None = None
    to_ms: int | None = None
    framework: str | None = None
    host: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class RecordFilters:
    """Filters of the run and span export: first seen in [from_ms, to_ms)."""

    from_ms: int | None = None
    to_ms: int | None = None
    framework: str | None = None
    session_id: str | None = None


@dataclass
class Page:
    """Rows in answer order; `more` when rows follow the last one."""

    rows: list[Row] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class SessionDetailRows:
    session: Row
    runs: list[Row]
    models: list[Row]


@dataclass(frozen=True)
class RunDetailRows:
    run: Row
    spans: list[Row]
    errors: list[Row]


@dataclass(frozen=True)
class SummaryRows:
    day_start: int
    totals: list[Row]
    live: list[Row]
    waiting: list[Row]


@dataclass(frozen=True)
class TimeseriesRows:
    window: str
    bucket_s: int
    start: int
    end: int
    rows: list[Row]


Position = TypeVar("Position")


def event_position(row: Row) -> tuple[str, str]:
    return row["ts"], row["event_id"]


def session_position(row: Row) -> tuple[int, str]:
    return int(row["first_ts"]), row["session_id"]


async def every_row(
    read: Callable[[Position | None], Awaitable[Page]], position_of: Callable[[Row], Position]
) -> AsyncIterator[Row]:
    """Every row of a paged query: `read(position)` gives the page after `position`."""
    position: Position | None = None
    while True:
        page = await read(position)
        for row in page.rows:
            yield row
        if not page.more:
            return
        position = position_of(page.rows[-1])


class Queries(abc.ABC):
    idle_timeout_ms: int

    @abc.abstractmethod
    async def fetch(self, sql: str, params: list[Any]) -> list[Row]: ...

    @abc.abstractmethod
    def in_list(self, column: str, values: list[Any]) -> tuple[str, list[Any]]: ...

    @abc.abstractmethod
    def ts_param(self, ts: str) -> Any:
        """A canonical timestamp as the events.ts column wants it."""

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def _idle_cutoff(self, now_ms: int) -> int:
        return now_ms - self.idle_timeout_ms

    # --- events --------------------------------------------------------------------------

    async def list_events(
        self,
        filters: EventFilters = EventFilters(),
        *,
        position: tuple[str, str] | None = None,
        limit: int = 100,
        max_bytes: int | None = None,
    ) -> Page:
        """Newest first, from after `position` (ts, event_id); rows hold `ts` (canonical),
        `event_id` and `payload` (the envelope as JSON text). Stops early, with `more`, once
        the payloads would pass `max_bytes` (always at least one row)."""
        page = Page()
        size = 0
        while len(page.rows) < limit:
            want = min(EVENT_CHUNK, limit - len(page.rows))
            chunk = await self._event_chunk(filters, position, want + 1)
            for row in chunk[:want]:
                row["ts"] = _ts_text(row["ts"])
                row["payload"] = _json_text(row["payload"])
                size += len(row["payload"])
                if page.rows and max_bytes is not None and size > max_bytes:
                    page.more = True
                    return page
                page.rows.append(row)
            if len(chunk) <= want:
                return page
            position = event_position(page.rows[-1])
        page.more = True
        return page

    async def _event_chunk(
        self, filters: EventFilters, position: tuple[str, str] | None, limit: int
    ) -> list[Row]:
        where, params = self._event_where(filters, position)
        return await self.fetch(
            f"SELECT ts, event_id, payload FROM events{where} "
            "ORDER BY ts DESC, event_id DESC LIMIT ?",
            [*params, limit],
        )

    def _event_where(
        self, filters: EventFilters, position: tuple[str, str] | None = None
    ) -> tuple[str, list[Any]]:
        ts = self.ts_param
        where, params = _filters(
            ("type = ?", filters.event_type),
            ("source_framework = ?", filters.framework),
            ("session_id = ?", filters.session_id),
            ("run_id = ?", filters.run_id),
            ("ts >= ?", ts(filters.since) if filters.since else None),
            ("ts > ?", ts(filters.after) if filters.after else None),
            ("ts < ?", ts(filters.before) if filters.before else None),
        )
        if position:
            where += " AND " if where else " WHERE "
            where += "(ts < ? OR (ts = ? AND event_id < ?))"
            params += [ts(position[0]), ts(position[0]), position[1]]
        return where, params

    async def count_events(self, filters: EventFilters = EventFilters()) -> int:
        return await self._count("events", *self._event_where(filters))

    async def _count(self, table: str, where: str, params: list[Any]) -> int:
        rows = await self.fetch(f"SELECT count(*) AS n FROM {table}{where}", params)
        return int(rows[0]["n"])

    # --- sessions ------------------------------------------------------------------------

    async def list_sessions(
        self,
        filters: SessionFilters = SessionFilters(),
        *,
        position: tuple[int, str] | None = None,
        limit: int = 50,
    ) -> Page:
        """Newest start first, after `position` (first_ts, session_id); each row has its
        `status`, `run_count`, `span_count` and `tool_count`."""
        cutoff = self._idle_cutoff(self._now_ms())
        where, params = self._session_where(filters, position, cutoff)
        sql = (
            f"SELECT s.*, {STATUS_SQL} AS status FROM sessions s{where} "
            "ORDER BY s.first_ts DESC, s.session_id DESC LIMIT ?"
        )
        rows = await self.fetch(sql, [cutoff, *params, limit + 1])
        page = Page(rows[:limit], len(rows) > limit)
        await self._add_session_counts(page.rows)
        return page

    async def count_sessions(self, filters: SessionFilters = SessionFilters()) -> int:
        cutoff = self._idle_cutoff(self._now_ms())
        return await self._count("sessions s", *self._session_where(filters, None, cutoff))

    @staticmethod
    def _session_where(
        filters: SessionFilters, position: tuple[int, str] | None, cutoff: int
    ) -> tuple[str, list[Any]]:
        where, params = _filters(
            ("s.first_ts >= ?", filters.from_ms),
            ("s.first_ts < ?", filters.to_ms),
            ("s.framework = ?", filters.framework),
            ("s.host = ?", filters.host),
        )
        clauses = [where] if where else []
        if filters.status:
            clauses.append(f"{' AND' if clauses else ' WHERE'} {STATUS_FILTERS[filters.status]}")
            params += [cutoff] if filters.status in ("active", "idle") else []
        if position:
            clauses.append(
                f"{' AND' if clauses else ' WHERE'} "
                "(s.first_ts < ? OR (s.first_ts = ? AND s.session_id < ?))"
            )
            params += [position[0], position[0], position[1]]
        return "".join(clauses), params

    async def _add_session_counts(self, rows: list[Row]) -> None:
        if not rows:
            return
        ids = [row["session_id"] for row in rows]
        run_in, run_params = self.in_list("session_id", ids)
        span_in, span_params = self.in_list("session_id", ids)
        runs, spans = await asyncio.gather(
            self.fetch(
                f"SELECT session_id, count(*) AS n FROM runs WHERE {run_in} GROUP BY session_id",
                run_params,
            ),
            self.fetch(
                f"SELECT session_id, {_SPAN_COUNTS} WHERE {span_in} GROUP BY session_id",
                span_params,
            ),
        )
        run_counts = {r["session_id"]: r["n"] for r in runs}
        span_counts = {r["session_id"]: (r["n"], r["tools"]) for r in spans}
        for row in rows:
            spans_n, tools_n = span_counts.get(row["session_id"], (0, 0))
            row.update(
                run_count=int(run_counts.get(row["session_id"], 0)),
                span_count=int(spans_n),
                tool_count=int(tools_n or 0),
            )

    async def get_session(self, session_id: str) -> SessionDetailRows:
        """The session (with counts), its runs oldest first (with span counts), its models."""
        cutoff = self._idle_cutoff(self._now_ms())
        rows, runs, counts, models = await asyncio.gather(
            self.fetch(
                f"SELECT s.*, {STATUS_SQL} AS status FROM sessions s WHERE s.session_id = ?",
                [cutoff, session_id],
            ),
            self.fetch(
                "SELECT * FROM runs WHERE session_id = ? "
                "ORDER BY coalesce(started_at, first_ts), run_id",
                [session_id],
            ),
            self.fetch(
                f"SELECT run_id, {_SPAN_COUNTS} WHERE session_id = ? GROUP BY run_id",
                [session_id],
            ),
            self.fetch(
                "SELECT * FROM model_usage WHERE session_id = ? ORDER BY total_tokens DESC, model",
                [session_id],
            ),
        )
        if not rows:
            raise NotFound(f"no session {session_id!r}")
        by_run = {r["run_id"]: (int(r["n"]), int(r["tools"] or 0)) for r in counts}
        for run in runs:
            run["span_count"], run["tool_count"] = by_run.get(run["run_id"], (0, 0))
        session = rows[0]
        session["run_count"] = len(runs)
        session["span_count"] = sum(c[0] for c in by_run.values())
        session["tool_count"] = sum(c[1] for c in by_run.values())
        return SessionDetailRows(session, runs, models)

    async def get_run(self, run_id: str) -> RunDetailRows:
        rows, spans, errors = await asyncio.gather(
            self.fetch("SELECT * FROM runs WHERE run_id = ?", [run_id]),
            self.fetch(
                "SELECT * FROM spans WHERE run_id = ? "
                "ORDER BY coalesce(started_at, derived_start, first_ts), span_id",
                [run_id],
            ),
            self.fetch("SELECT * FROM errors WHERE run_id = ? ORDER BY ts, event_id", [run_id]),
        )
        if not rows:
            raise NotFound(f"no run {run_id!r}")
        run = rows[0]
        run["span_count"] = len(spans)
        run["tool_count"] = sum(1 for s in spans if s["kind"] == "tool")
        return RunDetailRows(run, spans, errors)

    # --- whole tables, for the export ----------------------------------------------------

    async def list_runs(
        self, filters: RecordFilters, *, position: str | None = None, limit: int = 500
    ) -> Page:
        """Runs by run_id after `position`, each with `span_count` and `tool_count`."""
        page = await self._record_page("runs", "run_id", filters, position, limit)
        if page.rows:
            run_in, params = self.in_list("run_id", [r["run_id"] for r in page.rows])
            counts = await self.fetch(
                f"SELECT run_id, {_SPAN_COUNTS} WHERE {run_in} GROUP BY run_id", params
            )
            by_run = {r["run_id"]: (int(r["n"]), int(r["tools"] or 0)) for r in counts}
            for run in page.rows:
                run["span_count"], run["tool_count"] = by_run.get(run["run_id"], (0, 0))
        return page

    async def list_spans(
        self, filters: RecordFilters, *, position: str | None = None, limit: int = 500
    ) -> Page:
        """Spans by span_id after `position`."""
        return await self._record_page("spans", "span_id", filters, position, limit)

    async def _record_page(
        self, table: str, key: str, filters: RecordFilters, position: str | None, limit: int
    ) -> Page:
        where, params = _record_where(filters, key, position)
        rows = await self.fetch(
            f"SELECT * FROM {table}{where} ORDER BY {key} LIMIT ?", [*params, limit + 1]
        )
        return Page(rows[:limit], len(rows) > limit)

    async def count_runs(self, filters: RecordFilters) -> int:
        return await self._count("runs", *_record_where(filters, "run_id", None))

    async def count_spans(self, filters: RecordFilters) -> int:
        return await self._count("spans", *_record_where(filters, "span_id", None))

    # --- stats ---------------------------------------------------------------------------

    async def summary(self, now_ms: int | None = None) -> SummaryRows:
        now_ms = now_ms or self._now_ms()
        day_start = now_ms // 86_400_000 * 86_400_000
        cutoff = self._idle_cutoff(now_ms)
        totals = await self.fetch(
            "SELECT framework, sum(events) AS events, sum(sessions) AS sessions, "
            "sum(runs) AS runs, sum(tool_calls) AS tool_calls, sum(errors) AS errors, "
            "sum(total_tokens) AS total_tokens, sum(input_tokens) AS input_tokens, "
            "sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd, "
            f"{_COST_COUNT_SUMS} "
            "FROM rollup_minute WHERE bucket >= ? GROUP BY framework ORDER BY framework",
            [day_start],
        )
        live = await self.fetch(
            f"SELECT s.framework AS framework, {STATUS_SQL} AS status, count(*) AS n "
            "FROM sessions s WHERE s.ended_at IS NULL AND s.last_ts >= ? "
            "GROUP BY s.framework, status",
            [cutoff, cutoff],
        )
        waiting = await self.fetch(
            "SELECT framework, count(*) AS n FROM sessions "
            "WHERE waiting_reason IS NOT NULL AND ended_at IS NULL GROUP BY framework",
            [],
        )
        return SummaryRows(day_start, totals, live, waiting)

    async def timeseries(
        self, window: str, framework: str | None = None, now_ms: int | None = None
    ) -> TimeseriesRows:
        """Rollup sums per bucket (`b`, epoch ms) of the window; empty buckets absent."""
        span_s, bucket_s, table = WINDOWS[window]
        now_ms = now_ms or self._now_ms()
        bucket_ms = bucket_s * 1000
        end = now_ms // bucket_ms * bucket_ms + bucket_ms
        start = end - span_s * 1000
        where, params = _filters(("framework = ?", framework))
        rows = await self.fetch(
            f"SELECT bucket / ? * ? AS b, sum(events) AS events, sum(runs) AS runs, "
            "sum(tool_calls) AS tool_calls, sum(errors) AS errors, "
            f"sum(total_tokens) AS tokens, sum(cost_usd) AS cost_usd, {_COST_COUNT_SUMS} "
            f"FROM rollup_{table} WHERE bucket >= ? AND bucket < ?"
            f"{where.replace(' WHERE', ' AND')} GROUP BY b ORDER BY b",
            [bucket_ms, bucket_ms, start, end, *params],
        )
        return TimeseriesRows(window, bucket_s, start, end, rows)

    async def top_tools(self, window: str, limit: int = 10) -> list[Row]:
        """`name`, `calls`, `errors`, `timed` (calls with a duration), `total_ms`."""
        span_s, _, table = WINDOWS[window]
        since = self._now_ms() - span_s * 1000
        return await self.fetch(
            "SELECT name, sum(calls) AS calls, sum(errors) AS errors, "
            "sum(timed_calls) AS timed, sum(total_ms) AS total_ms "
            f"FROM tool_rollup_{table} WHERE bucket >= ? GROUP BY name "
            "ORDER BY calls DESC, name LIMIT ?",
            [since // 60_000 * 60_000, limit],
        )

    async def facets(self) -> dict[str, list[str]]:
        """Known values per kind (`framework`, `host`), sorted."""
        rows = await self.fetch("SELECT kind, value FROM facets ORDER BY kind, value", [])
        found: dict[str, list[str]] = {"framework": [], "host": []}
        for row in rows:
            found.setdefault(row["kind"], []).append(row["value"])
        return found

    # --- VM health -----------------------------------------------------------------------

    async def vm_instances(self) -> list[Row]:
        return await self.fetch("SELECT * FROM vm_latest ORDER BY name", [])

    async def vm_history(self, name: str, window: str) -> list[Row]:
        span_s = WINDOWS[window][0]
        return await self.fetch(
            "SELECT ts, cpu_pct, mem_pct, disk_pct FROM vm_history "
            "WHERE name = ? AND ts >= ? ORDER BY ts",
            [name, self._now_ms() - span_s * 1000],
        )

    async def dead_letters(self, limit: int = 100) -> list[Row]:
        return await self.fetch(
            "SELECT id, reason, data FROM dead_letters ORDER BY id DESC LIMIT ?", [limit]
        )


_COST_COUNT_SUMS = ", ".join(f"sum({name}) AS {name}" for name in COST_COUNTS)


def _filters(*pairs: tuple[str, Any]) -> tuple[str, list[Any]]:
    clauses = [clause for clause, value in pairs if value is not None]
    params = [value for _, value in pairs if value is not None]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _record_where(filters: RecordFilters, key: str, position: str | None) -> tuple[str, list[Any]]:
    return _filters(
        ("first_ts >= ?", filters.from_ms),
        ("first_ts < ?", filters.to_ms),
        ("framework = ?", filters.framework),
        ("session_id = ?", filters.session_id),
        (f"{key} > ?", position),
    )


def _ts_text(value: str | datetime) -> str:
    """events.ts as its canonical text (PostgreSQL hands back a datetime)."""
    return value if isinstance(value, str) else format_ts(value)


def _json_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()
