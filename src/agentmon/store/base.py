"""The store: writes batches of events and answers every query the API asks.

All query SQL is written once here with `?` placeholders; an adapter (SQLite, PostgreSQL)
supplies the connection, the placeholder style and a few dialect words. Only the processor
calls `write`; the query API only reads.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from agentmon.events import Envelope, encode, ms_to_ts
from agentmon.store.projection import Projection, project

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

_json_decode = msgspec.json.decode


PRUNE_CONDITIONS = (
    ("events", "ts < ?"),
    ("sessions", "last_ts < ?"),
    ("runs", "last_ts < ?"),
    ("spans", "coalesce(ended_at, first_ts) < ?"),
    ("errors", "ts < ?"),
    ("model_usage", "last_ts < ?"),
    ("rollup_minute", "bucket < ?"),
    ("rollup_hour", "bucket < ?"),
    ("tool_rollup_minute", "bucket < ?"),
    ("tool_rollup_hour", "bucket < ?"),
    ("vm_history", "ts < ?"),
    ("facets", "last_ts < ?"),
)
PRUNE_CHUNK_ROWS = 2000
PRUNE_PAUSE_S = 0.005


class NotFound(LookupError):
    pass


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class WriteResult:
    new_events: list[Envelope]


class Store(abc.ABC):
    dialect: str
    idle_timeout_ms: int

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

    @abc.abstractmethod
    async def fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def in_list(self, column: str, values: list[Any]) -> tuple[str, list[Any]]: ...

    @abc.abstractmethod
    def ts_param(self, ts: str) -> Any:
        """A canonical timestamp as the events.ts column wants it."""

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

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def _idle_cutoff(self, now_ms: int) -> int:
        return now_ms - self.idle_timeout_ms

    # --- events --------------------------------------------------------------------------

    async def list_events(
        self,
        *,
        event_type: str | None = None,
        framework: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        where, params = _filters(
            ("type = ?", event_type),
            ("source_framework = ?", framework),
            ("session_id = ?", session_id),
            ("run_id = ?", run_id),
            ("ts >= ?", self.ts_param(since) if since else None),
        )
        rows = await self.fetch(
            f"SELECT payload FROM events{where} ORDER BY ts DESC LIMIT ?", [*params, limit]
        )
        return [_decode_json(row["payload"]) for row in rows]

    async def count_events(self) -> int:
        rows = await self.fetch("SELECT count(*) AS n FROM events", [])
        return int(rows[0]["n"])

    # --- sessions ------------------------------------------------------------------------

    async def list_sessions(
        self,
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        framework: str | None = None,
        host: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        cutoff = self._idle_cutoff(self._now_ms())
        position = _decode_cursor(cursor) if cursor else None
        where, params = _filters(
            ("s.first_ts >= ?", from_ms),
            ("s.first_ts < ?", to_ms),
            ("s.framework = ?", framework),
            ("s.host = ?", host),
        )
        clauses = [where] if where else []
        if status:
            clauses.append(f"{' AND' if clauses else ' WHERE'} {STATUS_FILTERS[status]}")
            params += [cutoff] if status in ("active", "idle") else []
        if position:
            clauses.append(
                f"{' AND' if clauses else ' WHERE'} "
                "(s.first_ts < ? OR (s.first_ts = ? AND s.session_id < ?))"
            )
            params += [position[0], position[0], position[1]]
        sql = (
            f"SELECT s.*, {STATUS_SQL} AS status FROM sessions s{''.join(clauses)} "
            "ORDER BY s.first_ts DESC, s.session_id DESC LIMIT ?"
        )
        rows = await self.fetch(sql, [cutoff, *params, limit + 1])
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = _encode_cursor(last["first_ts"], last["session_id"])
        sessions = await self._with_session_counts(rows)
        return sessions, next_cursor

    async def _with_session_counts(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        ids = [row["session_id"] for row in rows]
        run_in, run_params = self.in_list("session_id", ids)
        runs = await self.fetch(
            f"SELECT session_id, count(*) AS n FROM runs WHERE {run_in} GROUP BY session_id",
            run_params,
        )
        span_in, span_params = self.in_list("session_id", ids)
        spans = await self.fetch(
            "SELECT session_id, count(*) AS n, "
            "sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tools "
            f"FROM spans WHERE {span_in} GROUP BY session_id",
            span_params,
        )
        run_counts = {r["session_id"]: r["n"] for r in runs}
        span_counts = {r["session_id"]: (r["n"], r["tools"]) for r in spans}
        return [
            session_view(
                row,
                run_counts.get(row["session_id"], 0),
                *span_counts.get(row["session_id"], (0, 0)),
            )
            for row in rows
        ]

    async def get_session(self, session_id: str) -> dict[str, Any]:
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
            self._span_counts("session_id", session_id),
            self.fetch(
                "SELECT * FROM model_usage WHERE session_id = ? ORDER BY total_tokens DESC, model",
                [session_id],
            ),
        )
        if not rows:
            raise NotFound(f"no session {session_id!r}")
        run_views = [run_view(run, *counts.get(run["run_id"], (0, 0))) for run in runs]
        span_total = sum(c[0] for c in counts.values())
        tool_total = sum(c[1] for c in counts.values())
        session = session_view(rows[0], len(runs), span_total, tool_total)
        session["models"] = [usage_view(m) for m in models]
        return {"session": session, "runs": run_views}

    async def _span_counts(self, column: str, value: str) -> dict[str, tuple[int, int]]:
        rows = await self.fetch(
            "SELECT run_id, count(*) AS n, sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tools "
            f"FROM spans WHERE {column} = ? GROUP BY run_id",
            [value],
        )
        return {r["run_id"]: (int(r["n"]), int(r["tools"] or 0)) for r in rows}

    async def get_run(self, run_id: str) -> dict[str, Any]:
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
        tools = sum(1 for s in spans if s["kind"] == "tool")
        return {
            "run": run_view(rows[0], len(spans), tools),
            "spans": [span_view(s) for s in spans],
            "errors": [error_view(e) for e in errors],
        }

    # --- stats ---------------------------------------------------------------------------

    async def summary(self, now_ms: int | None = None) -> dict[str, Any]:
        now_ms = now_ms or self._now_ms()
        day_start = now_ms // 86_400_000 * 86_400_000
        cutoff = self._idle_cutoff(now_ms)
        totals = await self.fetch(
            "SELECT framework, sum(events) AS events, sum(sessions) AS sessions, "
            "sum(runs) AS runs, sum(tool_calls) AS tool_calls, sum(errors) AS errors, "
            "sum(total_tokens) AS total_tokens, sum(input_tokens) AS input_tokens, "
            "sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd "
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
        return summary_view(day_start, totals, live, waiting)

    async def timeseries(
        self, window: str, framework: str | None = None, now_ms: int | None = None
    ) -> dict[str, Any]:
        span_s, bucket_s, table = WINDOWS[window]
        now_ms = now_ms or self._now_ms()
        bucket_ms = bucket_s * 1000
        end = now_ms // bucket_ms * bucket_ms + bucket_ms
        start = end - span_s * 1000
        where, params = _filters(("framework = ?", framework))
        rows = await self.fetch(
            f"SELECT bucket / ? * ? AS b, sum(events) AS events, sum(runs) AS runs, "
            "sum(tool_calls) AS tool_calls, sum(errors) AS errors, "
            "sum(total_tokens) AS tokens, sum(cost_usd) AS cost_usd "
            f"FROM rollup_{table} WHERE bucket >= ? AND bucket < ?"
            f"{where.replace(' WHERE', ' AND')} GROUP BY b ORDER BY b",
            [bucket_ms, bucket_ms, start, end, *params],
        )
        return timeseries_view(window, bucket_s, start, end, rows)

    async def top_tools(self, window: str, limit: int = 10) -> list[dict[str, Any]]:
        span_s, _, table = WINDOWS[window]
        since = self._now_ms() - span_s * 1000
        rows = await self.fetch(
            "SELECT name, sum(calls) AS calls, sum(errors) AS errors, "
            "sum(timed_calls) AS timed, sum(total_ms) AS total_ms "
            f"FROM tool_rollup_{table} WHERE bucket >= ? GROUP BY name "
            "ORDER BY calls DESC, name LIMIT ?",
            [since // 60_000 * 60_000, limit],
        )
        return [
            {
                "name": r["name"],
                "calls": int(r["calls"]),
                "errors": int(r["errors"]),
                "avg_ms": round(float(r["total_ms"]) / int(r["timed"]), 1) if r["timed"] else None,
            }
            for r in rows
        ]

    async def facets(self) -> dict[str, list[str]]:
        rows = await self.fetch("SELECT kind, value FROM facets ORDER BY kind, value", [])
        found: dict[str, list[str]] = {"framework": [], "host": []}
        for row in rows:
            found.setdefault(row["kind"], []).append(row["value"])
        return {"frameworks": found["framework"], "hosts": found["host"]}

    # --- VM health -----------------------------------------------------------------------

    async def vm_instances(self) -> list[dict[str, Any]]:
        rows = await self.fetch("SELECT * FROM vm_latest ORDER BY name", [])
        now_ms = self._now_ms()
        return [instance_view(row, now_ms) for row in rows]

    async def vm_history(self, name: str, window: str) -> list[dict[str, Any]]:
        span_s = WINDOWS[window][0]
        rows = await self.fetch(
            "SELECT ts, cpu_pct, mem_pct, disk_pct FROM vm_history "
            "WHERE name = ? AND ts >= ? ORDER BY ts",
            [name, self._now_ms() - span_s * 1000],
        )
        return [{**row, "ts": ms_to_ts(row["ts"])} for row in rows]

    # --- retention -----------------------------------------------------------------------

    async def prune(self, before_ms: int) -> dict[str, int]:
        """Delete what is older than `before_ms` from every table; rows deleted per table.

        In chunks of PRUNE_CHUNK_ROWS rows, each its own short transaction, yielding between
        them, so the writer takes ingest batches in between instead of stalling behind one
        delete of millions of rows."""
        before_ts = self.ts_param(ms_to_ts(before_ms))
        row = "ctid" if self.dialect == "postgres" else "rowid"
        deleted = {}
        for table, condition in PRUNE_CONDITIONS:
            param = before_ts if table == "events" else before_ms
            chosen = f"SELECT {row} FROM {table} WHERE {condition} LIMIT {PRUNE_CHUNK_ROWS}"
            in_chunk = f"= ANY(ARRAY({chosen}))" if self.dialect == "postgres" else f"IN ({chosen})"
            deleted[table] = 0
            while True:
                count = await self.execute(f"DELETE FROM {table} WHERE {row} {in_chunk}", [param])
                deleted[table] += count
                if count < PRUNE_CHUNK_ROWS:
                    break
                await asyncio.sleep(PRUNE_PAUSE_S)
        return deleted

    @abc.abstractmethod
    async def execute(self, sql: str, params: list[Any]) -> int:
        """Run a write statement in its own transaction; the number of rows it changed."""

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self.fetch(
            "SELECT id, reason, data FROM dead_letters ORDER BY id DESC LIMIT ?", [limit]
        )


def event_row(event: Envelope) -> tuple[Any, ...]:
    """An envelope as a row of the original `events` table (payload = the whole envelope)."""
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


# --- row → API view --------------------------------------------------------------------


def _filters(*pairs: tuple[str, Any]) -> tuple[str, list[Any]]:
    clauses = [clause for clause, value in pairs if value is not None]
    params = [value for _, value in pairs if value is not None]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _encode_cursor(first_ts: int, session_id: str) -> str:
    raw = msgspec.json.encode([first_ts, session_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        first_ts, session_id = msgspec.json.decode(raw)
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        raise BadCursor(f"cursor {cursor!r} is not one this API issued") from None
    if not isinstance(first_ts, int) or not isinstance(session_id, str):
        raise BadCursor(f"cursor {cursor!r} is not one this API issued")
    return first_ts, session_id


def _decode_json(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str | bytes):
        return _json_decode(value)
    return value


def _iso(ms: Any) -> str | None:
    return ms_to_ts(int(ms)) if ms is not None else None


def _tokens(row: dict[str, Any]) -> dict[str, int]:
    return {
        "input": int(row.get("input_tokens") or 0),
        "output": int(row.get("output_tokens") or 0),
        "cache_read": int(row.get("cache_read_tokens") or 0),
        "cache_write": int(row.get("cache_write_tokens") or 0),
        "total": int(row.get("total_tokens") or 0),
    }


def _duration(start: Any, end: Any, given: Any = None) -> float | None:
    if given is not None:
        return float(given)
    if start is not None and end is not None:
        return float(end - start)
    return None


def session_view(row: dict[str, Any], runs: int, spans: int, tools: int) -> dict[str, Any]:
    started = row["started_at"] if row["started_at"] is not None else row["first_ts"]
    end = row["ended_at"] if row["ended_at"] is not None else row["last_ts"]
    return {
        "session_id": row["session_id"],
        "framework": row["framework"],
        "host": row["host"],
        "client_id": row["client_id"],
        "status": row["status"],
        "started_at": _iso(started),
        "ended_at": _iso(row["ended_at"]),
        "last_event_at": _iso(row["last_ts"]),
        "duration_ms": _duration(started, end),
        "title": row["title"],
        "model": row["model"],
        "cwd": row["cwd"],
        "parent_session_id": row["parent_session_id"],
        "end_reason": row["end_reason"],
        "waiting_reason": row["waiting_reason"],
        "waiting_message": row["waiting_message"],
        "run_count": int(runs),
        "span_count": int(spans),
        "tool_count": int(tools or 0),
        "error_count": int(row["error_count"] or 0),
        "tokens": _tokens(row),
        "cost_usd": float(row["cost_usd"] or 0),
        "last_run_status": row["last_run_status"],
    }


def run_view(row: dict[str, Any], spans: int, tools: int) -> dict[str, Any]:
    started = row["started_at"] if row["started_at"] is not None else row["first_ts"]
    return {
        "run_id": row["run_id"],
        "session_id": row["session_id"],
        "framework": row["framework"],
        "host": row["host"],
        "status": row["status"] or "running",
        "started_at": _iso(started),
        "ended_at": _iso(row["ended_at"]),
        "duration_ms": _duration(started, row["ended_at"], row["duration_ms"]),
        "input": row["input"],
        "output": row["output"],
        "error": row["error"],
        "model": row["model"],
        "usage": _decode_json(row["usage"]),
        "span_count": int(spans),
        "tool_count": int(tools),
        "error_count": int(row["error_count"] or 0),
        "tokens": _tokens(row),
        "cost_usd": float(row["cost_usd"] or 0),
    }


def span_view(row: dict[str, Any]) -> dict[str, Any]:
    started = row["started_at"]
    if started is None:
        started = row["derived_start"] if row["derived_start"] is not None else row["first_ts"]
    return {
        "span_id": row["span_id"],
        "run_id": row["run_id"],
        "session_id": row["session_id"],
        "parent_span_id": row["parent_span_id"],
        "trace_id": row["trace_id"],
        "framework": row["framework"],
        "kind": row["kind"] or "other",
        "name": row["name"],
        "status": row["status"] or "running",
        "started_at": _iso(started),
        "ended_at": _iso(row["ended_at"]),
        "duration_ms": _duration(started, row["ended_at"], row["duration_ms"]),
        "error": row["error"],
        "input": _decode_json(row["input"]),
        "output": _decode_json(row["output"]),
        "usage": _decode_json(row["usage"]),
        "attributes": _decode_json(row["attributes"]) or {},
        "reconstructed": row["started_at"] is None and row["derived_start"] is not None,
    }


def error_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "ts": _iso(row["ts"])}


def usage_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": row["model"],
        "calls": int(row["calls"]),
        "tokens": _tokens(row),
        "cost_usd": float(row["cost_usd"] or 0),
    }


def _empty_counts() -> dict[str, Any]:
    return {
        "sessions": 0,
        "active_sessions": 0,
        "waiting_sessions": 0,
        "runs": 0,
        "tool_calls": 0,
        "errors": 0,
        "events": 0,
        "tokens": {"input": 0, "output": 0, "total": 0},
        "cost_usd": 0.0,
    }


def summary_view(
    day_start: int,
    totals: list[dict[str, Any]],
    live: list[dict[str, Any]],
    waiting: list[dict[str, Any]],
) -> dict[str, Any]:
    by_framework: dict[str, dict[str, Any]] = {}
    for row in totals:
        counts = by_framework.setdefault(row["framework"], _empty_counts())
        for name in ("sessions", "runs", "tool_calls", "errors", "events"):
            counts[name] = int(row[name] or 0)
        counts["tokens"] = {
            "input": int(row["input_tokens"] or 0),
            "output": int(row["output_tokens"] or 0),
            "total": int(row["total_tokens"] or 0),
        }
        counts["cost_usd"] = round(float(row["cost_usd"] or 0), 6)
    for row in live:
        if row["status"] == "active":
            by_framework.setdefault(row["framework"], _empty_counts())["active_sessions"] += int(
                row["n"]
            )
    for row in waiting:
        counts = by_framework.setdefault(row["framework"], _empty_counts())
        counts["waiting_sessions"] += int(row["n"])
        counts["active_sessions"] += int(row["n"])
    overall = _empty_counts()
    for counts in by_framework.values():
        for name, value in counts.items():
            if name == "tokens":
                for key in overall["tokens"]:
                    overall["tokens"][key] += value[key]
            else:
                overall[name] += value
    overall["cost_usd"] = round(overall["cost_usd"], 6)
    return {
        "day_start": ms_to_ts(day_start),
        "timezone": "UTC",
        **overall,
        "by_framework": dict(sorted(by_framework.items())),
    }


def timeseries_view(
    window: str, bucket_s: int, start: int, end: int, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    found = {int(r["b"]): r for r in rows}
    points = []
    for bucket in range(start, end, bucket_s * 1000):
        row = found.get(bucket, {})
        points.append(
            {
                "ts": ms_to_ts(bucket),
                "t": bucket // 1000,
                "events": int(row.get("events") or 0),
                "runs": int(row.get("runs") or 0),
                "tool_calls": int(row.get("tool_calls") or 0),
                "errors": int(row.get("errors") or 0),
                "tokens": int(row.get("tokens") or 0),
                "cost_usd": round(float(row.get("cost_usd") or 0), 6),
            }
        )
    return {
        "window": window,
        "bucket_seconds": bucket_s,
        "from": ms_to_ts(start),
        "to": ms_to_ts(end),
        "points": points,
    }


STALE_AFTER_S = 300


def instance_view(row: dict[str, Any], now_ms: int) -> dict[str, Any]:
    snapshot = _decode_json(row["snapshot"]) or {}
    age = max(0.0, (now_ms - int(row["ts"])) / 1000)
    issues = list(snapshot.get("issues") or [])
    stale = age > STALE_AFTER_S
    if stale:
        # "stale" from the monitor means its checks keep failing; this means the monitor
        # itself has not reported (stopped, or cut off from the ingest gateway)
        issues.append(
            {
                "severity": "critical",
                "code": "no_recent_snapshot",
                "message": f"no snapshot from the monitor for {int(age // 60)} min",
            }
        )
    return {
        "name": row["name"],
        "ts": _iso(row["ts"]),
        "age_s": round(age, 1),
        "stale": stale,
        "snapshot": snapshot,
        "issues": issues,
    }
