"""Every query the API and the export ask, as SQL written once with `?` placeholders.

The methods return rows (dicts keyed by column, plus a few counts joined in); shaping them
into the API's answers is the query layer's job (`agentmon.query.views`). An adapter
supplies `fetch`, `in_list` and `ts_param`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import msgspec

from agentmon.events import format_ts
from agentmon.store.loops import STREAK_CAP
from agentmon.store.tables import COST_COUNTS

Row = dict[str, Any]

WINDOWS: dict[str, tuple[int, int, str]] = {
    # window: (span seconds, bucket seconds, rollup table)
    "1h": (3600, 60, "minute"),
    "6h": (6 * 3600, 300, "minute"),
    "24h": (24 * 3600, 900, "minute"),
    "7d": (7 * 86400, 3600, "hour"),
}

SESSION_STATUSES = ("active", "idle", "waiting", "ended", "error", "stuck", "looping", "lost")

# a VM in one of these states runs its agents; in any other (shutoff, crashed, unknown: nothing
# answered the monitor) its agents are lost
VM_RUNNING_STATES = frozenset({"running", "blocked"})

# the session's newest run failed: its last run ended in error and no work started after
# that end (a resumed session, a new prompt: its new run speaks for it, once it ends too)
_FAILED = "s.last_run_status = 'error' AND coalesce(s.last_start_ts, 0) <= s.last_run_ts"
_NOT_FAILED = f"NOT (coalesce({_FAILED}, FALSE))"
_OPEN_UNASKED = "s.ended_at IS NULL AND s.waiting_reason IS NULL"
STATUS_FILTERS = {
    # written so the open/waiting partial indexes can serve them; the others are built by
    # `Queries._status_filter` from the same cases as `Queries._status_case`
    "waiting": "s.ended_at IS NULL AND s.waiting_reason IS NOT NULL",
    "ended": f"s.ended_at IS NOT NULL AND {_NOT_FAILED}",
}
# a run that started and has not ended (the runs_open index serves it)
_OPEN_RUN = (
    "EXISTS (SELECT 1 FROM runs r WHERE r.session_id = s.session_id "
    "AND r.started_at IS NOT NULL AND r.ended_at IS NULL)"
)


@dataclass(frozen=True)
class Attention:
    """When an open session needs a person without asking (AGENTMON_STUCK_AFTER,
    AGENTMON_LOOP_REPEATS, AGENTMON_LOST_AFTER); a repeat count below 2 turns loops off."""

    stuck_after_ms: int = 600_000
    loop_repeats: int = 5
    lost_after_ms: int = 300_000


@dataclass(frozen=True)
class StatusContext:
    """What a session's status depends on besides its own row, read once per query."""

    now_ms: int
    idle_cutoff: int
    stuck_cutoff: int
    looping: dict[str, int]  # session id → when its loop began
    lost_vms: dict[str, int]  # VM name → since when its agents are lost


# errors read for grouping at most; past it the groups cover the newest this many
MAX_ERROR_ROWS = 50_000


@dataclass(frozen=True)
class ErrorRows:
    window: str
    bucket_s: int
    start: int
    end: int
    rows: list[Row]  # newest first, with `tool` and `agent`
    more: bool  # older errors in the window were not read


# events are read this many at a time, so a byte budget stops the reading, not only the answer
EVENT_CHUNK = 50

_SPAN_COUNTS = "count(*) AS n, sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tools FROM spans"
# a session's runs and the time they worked (each run's reported duration, else its first to
# last event): a resumed session's active time, without the gaps between its stints
_RUN_COUNTS = (
    "count(*) AS n, "
    "sum(coalesce(duration_ms, coalesce(ended_at, last_ts) - coalesce(started_at, first_ts))) "
    "AS active_ms FROM runs"
)


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
    tool: str | None = None  # sessions with a tool span of this name
    models: tuple[str, ...] = ()  # sessions with model calls of any of these models
    project: str | None = None  # the session's cwd


SessionSort = Literal["started", "last_event", "cost", "tokens", "errors"]
# the column each sort orders by (never NULL, so both stores order the same)
_SESSION_SORT_COLUMNS: dict[str, tuple[str, str]] = {
    "started": ("s.first_ts", "first_ts"),
    "last_event": ("coalesce(s.last_ts, 0)", "last_ts"),
    "cost": ("s.cost_usd", "cost_usd"),
    "tokens": ("s.total_tokens", "total_tokens"),
    "errors": ("s.error_count", "error_count"),
}
SessionPosition = tuple[int | float, str]


@dataclass(frozen=True)
class SessionOrder:
    """The order of the sessions list: a column, then session_id, both the same direction."""

    sort: SessionSort = "started"
    descending: bool = True

    @property
    def column(self) -> str:
        return _SESSION_SORT_COLUMNS[self.sort][0]

    def position(self, row: Row) -> SessionPosition:
        """Where `row` sits in this order: its sort value (an int, or a float for cost)."""
        value = row[_SESSION_SORT_COLUMNS[self.sort][1]] or 0
        return (float(value) if self.sort == "cost" else int(value)), row["session_id"]


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


def _looping_query(repeats: int, stuck_cutoff: int) -> tuple[str, list[Any]]:
    """Sessions whose open run's latest N tool spans repeat one call (its write-time
    `loop_streak`, store/loops.py, reaches N), with the start of the first of those N.
    Only sessions heard from within the stuck threshold loop: a loop that went silent is
    stuck."""
    return (
        # the runs_looping index holds the open runs with a streak; of each, the latest
        # N tool calls are one short spans_run_tool index scan
        "SELECT session_id, min(began) AS began FROM (SELECT l.session_id, (SELECT min(t) "
        "FROM (SELECT coalesce(sp.started_at, sp.derived_start, sp.first_ts) AS t "
        "FROM spans sp WHERE sp.run_id = l.run_id AND sp.kind = 'tool' "
        "ORDER BY sp.first_ts DESC, sp.span_id DESC LIMIT ?) repeated) AS began "
        "FROM runs l JOIN sessions s ON s.session_id = l.session_id "
        "WHERE l.loop_streak > 1 AND l.started_at IS NOT NULL AND l.ended_at IS NULL "
        f"AND l.loop_streak >= ? AND {_OPEN_UNASKED} AND s.last_ts >= ?) looping "
        "GROUP BY session_id",
        [repeats, repeats, stuck_cutoff],
    )


_Q = TypeVar("_Q", bound="Queries")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_one_reading(
    method: Callable[Concatenate[_Q, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_Q, _P], Coroutine[Any, Any, _R]]:
    """The method's reads in one `reading()`: on PostgreSQL one snapshot on one connection
    with custom plans (a cached statement with the status CASE's arrays otherwise falls to
    a generic plan that scans them per session)."""

    @functools.wraps(method)
    async def read(queries: _Q, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with queries.reading():
            return await method(queries, *args, **kwargs)

    return read


class Queries(abc.ABC):
    idle_timeout_ms: int
    attention: Attention = Attention()

    @abc.abstractmethod
    async def fetch(self, sql: str, params: list[Any]) -> list[Row]: ...

    @abc.abstractmethod
    def in_list(self, column: str, values: list[Any]) -> tuple[str, list[Any]]: ...

    @abc.abstractmethod
    def ts_param(self, ts: str) -> Any:
        """A canonical timestamp as the events.ts column wants it."""

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def reading(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Around several reads of one answer: where the adapter can, they run as one
        read-only transaction on one connection (PostgreSQL); by default, as they are."""
        return contextlib.nullcontext()

    def _idle_cutoff(self, now_ms: int) -> int:
        return now_ms - self.idle_timeout_ms

    # --- statuses ------------------------------------------------------------------------

    async def fetch_each(self, queries: Sequence[tuple[str, list[Any]]]) -> list[list[Row]]:
        """The rows of several independent queries, in order (an adapter may run them in
        one go: SQLite on one reader thread, one hand-off instead of one per query)."""
        return list(await asyncio.gather(*(self.fetch(sql, params) for sql, params in queries)))

    async def status_context(self, now_ms: int | None = None) -> StatusContext:
        return (await self.status_context_and_vms(now_ms))[0]

    async def status_context_and_vms(
        self, now_ms: int | None = None
    ) -> tuple[StatusContext, list[Row]]:
        """The status context, and the `vm_latest` rows its lost VMs were read from."""
        now_ms = now_ms or self._now_ms()
        stuck_cutoff = now_ms - self.attention.stuck_after_ms
        repeats = min(self.attention.loop_repeats, STREAK_CAP)
        queries: list[tuple[str, list[Any]]] = [("SELECT * FROM vm_latest", [])]
        if repeats >= 2:  # a repeat count below 2 turns loops off
            queries.append(_looping_query(repeats, stuck_cutoff))
        vms, *looping_rows = await self.fetch_each(queries)
        looping = {
            row["session_id"]: int(row["began"] or 0) for rows in looping_rows for row in rows
        }
        lost = self._lost_vms(vms, now_ms)
        return StatusContext(now_ms, self._idle_cutoff(now_ms), stuck_cutoff, looping, lost), vms

    def _lost_vms(self, vms: list[Row], now_ms: int) -> dict[str, int]:
        """VMs silent for longer than the lost threshold or not running, and since when."""
        lost: dict[str, int] = {}
        for row in vms:
            reported = int(row["ts"] or 0)
            if reported < now_ms - self.attention.lost_after_ms:
                lost[row["name"]] = reported + self.attention.lost_after_ms
            elif vm_state(row["snapshot"]) not in VM_RUNNING_STATES:
                lost[row["name"]] = reported
        return lost

    def _id_in(self, column: str, values: Iterable[str]) -> tuple[str, list[Any]]:
        values = list(values)
        return self.in_list(column, values) if values else ("1 = 0", [])

    def _attention_cases(self, ctx: StatusContext) -> list[tuple[str, str, list[Any]]]:
        """(status, condition, params) of an open session nobody is asked about, in the
        order they win: lost, looping, stuck (each before its last run's failure)."""
        by_client, client_params = self._id_in("coalesce(s.client_id, '')", ctx.lost_vms)
        by_host, host_params = self._id_in("coalesce(s.host, '')", ctx.lost_vms)
        looping, looping_params = self._id_in("s.session_id", ctx.looping)
        return [
            (
                "lost",
                f"({by_client} OR {by_host}) AND (coalesce(s.last_ts, 0) >= ? OR {_OPEN_RUN})",
                [*client_params, *host_params, ctx.idle_cutoff],
            ),
            ("looping", looping, looping_params),
            ("stuck", f"coalesce(s.last_ts, 0) < ? AND {_OPEN_RUN}", [ctx.stuck_cutoff]),
        ]

    def _status_case(self, ctx: StatusContext) -> tuple[str, list[Any]]:
        """The status of `sessions s` as one SQL expression."""
        sql = (
            "CASE WHEN s.ended_at IS NOT NULL THEN "
            f"(CASE WHEN {_FAILED} THEN 'error' ELSE 'ended' END) "
            "WHEN s.waiting_reason IS NOT NULL THEN 'waiting' "
        )
        params: list[Any] = []
        for status, condition, condition_params in self._attention_cases(ctx):
            sql += f"WHEN {condition} THEN '{status}' "
            params += condition_params
        sql += f"WHEN {_FAILED} THEN 'error' WHEN s.last_ts < ? THEN 'idle' "
        return sql + "ELSE 'active' END", [*params, ctx.idle_cutoff]

    def _status_filter(self, status: str, ctx: StatusContext) -> tuple[str, list[Any]]:
        """The WHERE condition selecting the sessions `_status_case` calls `status`."""
        if status in STATUS_FILTERS:
            return STATUS_FILTERS[status], []
        clauses, params = [_OPEN_UNASKED], []
        for case, condition, condition_params in self._attention_cases(ctx):
            clauses.append(f"({condition})" if case == status else f"NOT ({condition})")
            params += condition_params
            if case == status:
                return " AND ".join(clauses), params
        if status == "error":
            clauses.append(_FAILED)
            failed_open = " AND ".join(clauses)
            failed_ended = f"s.ended_at IS NOT NULL AND {_FAILED}"
            return f"(({failed_ended}) OR ({failed_open}))", params
        clauses.append(f"{_NOT_FAILED} AND s.last_ts {'>=' if status == 'active' else '<'} ?")
        return " AND ".join(clauses), [*params, ctx.idle_cutoff]

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
        position: SessionPosition | None = None,
        limit: int = 50,
        order: SessionOrder = SessionOrder(),
    ) -> Page:
        """In `order` (newest start first by default), after `position` (see
        `SessionOrder.position`); each row has its `status`, `run_count`, `span_count` and
        `tool_count`."""
        ctx = await self.status_context()
        status_sql, status_params = self._status_case(ctx)
        where, params = self._session_where(filters, position, ctx, order)
        way = "DESC" if order.descending else "ASC"
        sql = (
            f"SELECT s.*, {status_sql} AS status FROM sessions s{where} "
            f"ORDER BY {order.column} {way}, s.session_id {way} LIMIT ?"
        )
        rows = await self.fetch(sql, [*status_params, *params, limit + 1])
        page = Page(rows[:limit], len(rows) > limit)
        await self._add_session_counts(page.rows)
        return page

    @in_one_reading
    async def count_sessions(
        self, filters: SessionFilters = SessionFilters(), *, at_most: int | None = None
    ) -> int:
        """Sessions the filters select; with `at_most`, counting stops there (an exact count
        reads every matching row: at a million sessions that is a fifth of a second)."""
        ctx = await self.status_context() if filters.status else None
        where, params = self._session_where(filters, None, ctx)
        if at_most is None:
            return await self._count("sessions s", where, params)
        rows = await self.fetch(
            f"SELECT count(*) AS n FROM (SELECT 1 FROM sessions s{where} LIMIT ?) matching",
            [*params, at_most],
        )
        return int(rows[0]["n"])

    def _session_where(
        self,
        filters: SessionFilters,
        position: SessionPosition | None,
        ctx: StatusContext | None,
        order: SessionOrder = SessionOrder(),
    ) -> tuple[str, list[Any]]:
        where, params = _filters(
            ("s.first_ts >= ?", filters.from_ms),
            ("s.first_ts < ?", filters.to_ms),
            ("s.framework = ?", filters.framework),
            ("s.host = ?", filters.host),
            ("s.cwd = ?", filters.project),
            (
                "EXISTS (SELECT 1 FROM spans t WHERE t.session_id = s.session_id "
                "AND t.kind = 'tool' AND t.name = ?)",
                filters.tool,
            ),
        )
        clauses = [where] if where else []
        if filters.models:
            chosen, model_params = self.in_list("m.model", list(filters.models))
            clauses.append(
                f"{' AND' if clauses else ' WHERE'} EXISTS (SELECT 1 FROM model_usage m "
                f"WHERE m.session_id = s.session_id AND {chosen})"
            )
            params += model_params
        if filters.status and ctx is not None:
            condition, status_params = self._status_filter(filters.status, ctx)
            clauses.append(f"{' AND' if clauses else ' WHERE'} {condition}")
            params += status_params
        if position:
            after = "<" if order.descending else ">"
            column = order.column
            clauses.append(
                f"{' AND' if clauses else ' WHERE'} "
                f"({column} {after} ? OR ({column} = ? AND s.session_id {after} ?))"
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
                f"SELECT session_id, {_RUN_COUNTS} WHERE {run_in} GROUP BY session_id",
                run_params,
            ),
            self.fetch(
                f"SELECT session_id, {_SPAN_COUNTS} WHERE {span_in} GROUP BY session_id",
                span_params,
            ),
        )
        run_counts = {r["session_id"]: r for r in runs}
        span_counts = {r["session_id"]: (r["n"], r["tools"]) for r in spans}
        for row in rows:
            spans_n, tools_n = span_counts.get(row["session_id"], (0, 0))
            run_count = run_counts.get(row["session_id"], {"n": 0, "active_ms": None})
            row.update(
                run_count=int(run_count["n"]),
                active_ms=run_count["active_ms"],
                span_count=int(spans_n),
                tool_count=int(tools_n or 0),
            )

    async def get_session(self, session_id: str) -> SessionDetailRows:
        """The session (with counts), its runs oldest first (with span counts), its models."""
        status_sql, status_params = self._status_case(await self.status_context())
        rows, runs, counts, models, run_totals = await asyncio.gather(
            self.fetch(
                f"SELECT s.*, {status_sql} AS status FROM sessions s WHERE s.session_id = ?",
                [*status_params, session_id],
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
            self.fetch(f"SELECT {_RUN_COUNTS} WHERE session_id = ?", [session_id]),
        )
        if not rows:
            raise NotFound(f"no session {session_id!r}")
        by_run = {r["run_id"]: (int(r["n"]), int(r["tools"] or 0)) for r in counts}
        for run in runs:
            run["span_count"], run["tool_count"] = by_run.get(run["run_id"], (0, 0))
        session = rows[0]
        session["run_count"] = len(runs)
        session["active_ms"] = run_totals[0]["active_ms"]
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

    async def summary(self, now_ms: int | None = None, day_start: int | None = None) -> SummaryRows:
        """Today's figures since `day_start` (epoch ms; default the UTC midnight)."""
        now_ms = now_ms or self._now_ms()
        day_start = now_ms // 86_400_000 * 86_400_000 if day_start is None else day_start
        status_sql, status_params = self._status_case(await self.status_context(now_ms))
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
            f"SELECT s.framework AS framework, {status_sql} AS status, count(*) AS n "
            "FROM sessions s WHERE s.ended_at IS NULL AND s.last_ts >= ? "
            "GROUP BY s.framework, status",
            [*status_params, self._idle_cutoff(now_ms)],
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

    # --- error groups ----------------------------------------------------------------------

    async def recent_errors(
        self, window: str, limit: int = MAX_ERROR_ROWS, now_ms: int | None = None
    ) -> ErrorRows:
        """The window's errors, newest first, at most `limit` (`more` past it), each with
        the tool (its span's name) and agent it came from."""
        span_s, bucket_s, _ = WINDOWS[window]
        now_ms = now_ms or self._now_ms()
        bucket_ms = bucket_s * 1000
        end = now_ms // bucket_ms * bucket_ms + bucket_ms
        start = end - span_s * 1000
        rows = await self.fetch(
            "SELECT e.*, sp.name AS tool, coalesce(s.client_id, s.host, e.host, '') AS agent "
            "FROM errors e LEFT JOIN spans sp ON sp.span_id = e.span_id "
            "LEFT JOIN sessions s ON s.session_id = e.session_id "
            "WHERE e.ts >= ? AND e.ts < ? ORDER BY e.ts DESC, e.event_id DESC LIMIT ?",
            [start, end, limit + 1],
        )
        return ErrorRows(window, bucket_s, start, end, rows[:limit], len(rows) > limit)

    @in_one_reading
    async def open_session_counts(self) -> dict[str, int]:
        """Sessions not ended, per status."""
        status_sql, params = self._status_case(await self.status_context())
        rows = await self.fetch(
            f"SELECT status, count(*) AS n FROM (SELECT {status_sql} AS status "
            "FROM sessions s WHERE s.ended_at IS NULL) open_sessions GROUP BY status",
            params,
        )
        return {row["status"]: int(row["n"]) for row in rows}


def vm_state(snapshot: Any) -> str:
    """The `state` an openclaw.snapshot payload (JSON text or decoded) reports."""
    if isinstance(snapshot, str | bytes):
        try:
            snapshot = msgspec.json.decode(snapshot)
        except msgspec.DecodeError:
            return "unknown"
    state = snapshot.get("state") if isinstance(snapshot, dict) else None
    return str(state or "unknown")


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
