"""Store rows → the API's response models, plus the rules that belong to monitoring.

Rows come from `agentmon.store.queries`; timestamps in read models are epoch milliseconds,
JSON columns are text (SQLite) or already decoded.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any, cast, get_args

import msgspec

from agentmon.client.usage import normalize_usage
from agentmon.events import ms_to_ts
from agentmon.pricing import cost_source, priced_total
from agentmon.query.models import (
    AgentState,
    AgentTimeline,
    AttentionAck,
    AttentionGroup,
    AttentionItem,
    AttentionKind,
    AttentionList,
    DayCounts,
    DayTokens,
    ErrorGroup,
    ErrorGroups,
    ErrorOccurrences,
    ErrorRecord,
    Facets,
    HistoryPoint,
    Instance,
    ModelUsage,
    Run,
    RunDetail,
    Session,
    SessionDetail,
    SessionWithModels,
    Span,
    Summary,
    Timeline,
    TimelineSpan,
    Timeseries,
    TimeseriesPoint,
    Tokens,
    ToolStats,
    Window,
)
from agentmon.store.agents import AgentRows, agent_id, vm_of
from agentmon.store.attention import AttentionRows
from agentmon.store.queries import (
    ErrorRows,
    Row,
    RunDetailRows,
    SessionDetailRows,
    StatusContext,
    SummaryRows,
    TimeseriesRows,
    vm_state,
)
from agentmon.store.tables import COST_COUNTS
from agentmon.store.timeline import TimelineRows

# A VM whose monitor has not reported for this long is flagged: the monitor itself has
# stopped or is cut off from the ingest gateway (its own "stale" means its checks fail).
STALE_AFTER_S = 300
# the statuses of an open session that is not waiting for an answer: all count as active today
OPEN_UNASKED_STATUSES = ("active", "stuck", "looping", "lost")


def decode_json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def iso(ms: Any) -> str | None:
    """Epoch ms as `ms_to_ts` words it, its whole seconds formatted once: a roster of 1,000
    agents formats thousands of times per answer, and mostly the same ones again."""
    if ms is None:
        return None
    second, milli = divmod(int(ms), 1000)
    return _second_text(second) + _MILLI_TEXT[milli]


# each millisecond's ".mmm000Z", looked up rather than formatted (half the cost of `iso`)
_MILLI_TEXT = tuple(f".{milli:03d}000Z" for milli in range(1000))


@functools.lru_cache(maxsize=16384)
def _second_text(second: int) -> str:
    return ms_to_ts(second * 1000)[: len("YYYY-MM-DDTHH:MM:SS")]


def tokens(row: Row) -> Tokens:
    return Tokens(
        input=int(row.get("input_tokens") or 0),
        output=int(row.get("output_tokens") or 0),
        cache_read=int(row.get("cache_read_tokens") or 0),
        cache_write=int(row.get("cache_write_tokens") or 0),
        total=int(row.get("total_tokens") or 0),
    )


# `cost_source` by which of the three kinds of call a total has (it reads only whether each
# count is non-zero): looked up, as the roster asks a thousand times an answer
_COST_SOURCE_OF = {
    (reported, estimated, unpriced): cost_source(reported, estimated, unpriced)
    for reported in (False, True)
    for estimated in (False, True)
    for unpriced in (False, True)
}


def cost_fields(row: Row) -> dict[str, Any]:
    """`cost_usd` (null when no call had a price) and `cost_source`, from a row's call counts."""
    # the three by name, not a generator: the roster asks this a thousand times an answer
    reported = int(row.get("reported_calls") or 0)
    estimated = int(row.get("estimated_calls") or 0)
    unpriced = int(row.get("unpriced_calls") or 0)
    total = priced_total(float(row.get("cost_usd") or 0), reported, estimated)
    return {
        "cost_usd": None if total is None else round(total, 6),
        "cost_source": _COST_SOURCE_OF[reported > 0, estimated > 0, unpriced > 0],
    }


def _duration(start: Any, end: Any, given: Any = None) -> float | None:
    if given is not None:
        return float(given)
    if start is not None and end is not None:
        return float(end - start)
    return None


def _active(runs_ms: Any, wall_ms: float | None) -> float | None:
    """The runs' summed durations, at most the wall time (parallel runs overlap)."""
    if runs_ms is None:
        return None
    return float(runs_ms) if wall_ms is None else min(float(runs_ms), wall_ms)


def _session_fields(row: Row) -> dict[str, Any]:
    started = row["started_at"] if row["started_at"] is not None else row["first_ts"]
    end = row["ended_at"] if row["ended_at"] is not None else row["last_ts"]
    wall = _duration(started, end)
    return {
        "session_id": row["session_id"],
        "framework": row["framework"],
        "host": row["host"],
        "client_id": row["client_id"],
        "status": row["status"],
        "started_at": iso(started),
        "ended_at": iso(row["ended_at"]),
        "last_event_at": iso(row["last_ts"]),
        "duration_ms": wall,
        "active_ms": _active(row["active_ms"], wall),
        "title": row["title"],
        "model": row["model"],
        "cwd": row["cwd"],
        "parent_session_id": row["parent_session_id"],
        "end_reason": row["end_reason"],
        "waiting_reason": row["waiting_reason"],
        "waiting_message": row["waiting_message"],
        "run_count": int(row["run_count"]),
        "span_count": int(row["span_count"]),
        "tool_count": int(row["tool_count"] or 0),
        "error_count": int(row["error_count"] or 0),
        "tokens": tokens(row),
        **cost_fields(row),
        "last_run_status": row["last_run_status"],
    }


def session_view(row: Row) -> Session:
    """A sessions row with its status and `run_count`, `span_count`, `tool_count`."""
    return Session(**_session_fields(row))


def run_view(row: Row) -> Run:
    """A runs row with its `span_count` and `tool_count`."""
    started = row["started_at"] if row["started_at"] is not None else row["first_ts"]
    return Run(
        run_id=row["run_id"],
        session_id=row["session_id"],
        framework=row["framework"],
        host=row["host"],
        status=row["status"] or "running",
        started_at=iso(started),
        ended_at=iso(row["ended_at"]),
        duration_ms=_duration(started, row["ended_at"], row["duration_ms"]),
        input=row["input"],
        output=row["output"],
        error=row["error"],
        model=row["model"],
        usage=decode_json(row["usage"]),
        span_count=int(row["span_count"]),
        tool_count=int(row["tool_count"]),
        error_count=int(row["error_count"] or 0),
        tokens=tokens(row),
        **cost_fields(row),
    )


def span_tokens(usage: Any) -> Tokens | None:
    """A span's usage, whatever keys its tool used, in agentmon's counters."""
    counted = normalize_usage(usage)
    return tokens(counted) if any(counted.values()) else None


def span_view(row: Row) -> Span:
    usage = decode_json(row["usage"])
    started = row["started_at"]
    if started is None:
        started = row["derived_start"] if row["derived_start"] is not None else row["first_ts"]
    return Span(
        span_id=row["span_id"],
        run_id=row["run_id"],
        session_id=row["session_id"],
        parent_span_id=row["parent_span_id"],
        trace_id=row["trace_id"],
        framework=row["framework"],
        kind=row["kind"] or "other",
        name=row["name"],
        status=row["status"] or "running",
        started_at=iso(started),
        ended_at=iso(row["ended_at"]),
        duration_ms=_duration(started, row["ended_at"], row["duration_ms"]),
        error=row["error"],
        input=decode_json(row["input"]),
        output=decode_json(row["output"]),
        usage=usage,
        tokens=span_tokens(usage),
        cost_usd=row.get("cost_usd"),
        cost_source=row.get("cost_source"),
        attributes=decode_json(row["attributes"]) or {},
        reconstructed=row["started_at"] is None and row["derived_start"] is not None,
    )


def error_view(row: Row) -> ErrorRecord:
    return ErrorRecord(**{**row, "ts": iso(row["ts"])})


def usage_view(row: Row) -> ModelUsage:
    return ModelUsage(
        model=row["model"],
        calls=int(row["calls"]),
        tokens=tokens(row),
        **cost_fields(row),
    )


def session_detail(rows: SessionDetailRows) -> SessionDetail:
    session = SessionWithModels(
        **_session_fields(rows.session), models=[usage_view(m) for m in rows.models]
    )
    return SessionDetail(session=session, runs=[run_view(run) for run in rows.runs])


def run_detail(rows: RunDetailRows) -> RunDetail:
    return RunDetail(
        run=run_view(rows.run),
        spans=[span_view(s) for s in rows.spans],
        errors=[error_view(e) for e in rows.errors],
    )


_DAY_COUNTS = ("sessions", "runs", "tool_calls", "errors", "events")


def _day_counts(row: Row) -> DayCounts:
    counts: dict[str, Any] = {name: int(row[name] or 0) for name in _DAY_COUNTS}
    return DayCounts(
        **counts,
        tokens=DayTokens(
            input=int(row["input_tokens"] or 0),
            output=int(row["output_tokens"] or 0),
            total=int(row["total_tokens"] or 0),
        ),
        **cost_fields(row),
    )


def summary_view(rows: SummaryRows) -> Summary:
    by_framework = {row["framework"]: _day_counts(row) for row in rows.totals}
    for row in rows.live:
        if row["status"] in OPEN_UNASKED_STATUSES:
            by_framework.setdefault(row["framework"], DayCounts()).active_sessions += int(row["n"])
    for row in rows.waiting:
        counts = by_framework.setdefault(row["framework"], DayCounts())
        counts.waiting_sessions += int(row["n"])
        counts.active_sessions += int(row["n"])
    overall = DayCounts()
    for counts in by_framework.values():
        for name in (*_DAY_COUNTS, "active_sessions", "waiting_sessions"):
            setattr(overall, name, getattr(overall, name) + getattr(counts, name))
        for key in ("input", "output", "total"):
            setattr(overall.tokens, key, getattr(overall.tokens, key) + getattr(counts.tokens, key))
    overall_cost = {
        name: sum(row.get(name) or 0 for row in rows.totals) for name in ("cost_usd", *COST_COUNTS)
    }
    overall = overall.model_copy(update=cost_fields(overall_cost))
    return Summary(
        day_start=ms_to_ts(rows.day_start),
        **overall.model_dump(exclude={"tokens"}),
        tokens=overall.tokens,
        by_framework=dict(sorted(by_framework.items())),
    )


def timeseries_view(rows: TimeseriesRows) -> Timeseries:
    found = {int(r["b"]): r for r in rows.rows}
    points = []
    for bucket in range(rows.start, rows.end, rows.bucket_s * 1000):
        row = found.get(bucket, {})
        points.append(
            TimeseriesPoint(
                ts=ms_to_ts(bucket),
                t=bucket // 1000,
                events=int(row.get("events") or 0),
                runs=int(row.get("runs") or 0),
                tool_calls=int(row.get("tool_calls") or 0),
                errors=int(row.get("errors") or 0),
                tokens=int(row.get("tokens") or 0),
                **cost_fields(row),
            )
        )
    return Timeseries.model_validate(
        {
            "window": rows.window,
            "bucket_seconds": rows.bucket_s,
            "from": ms_to_ts(rows.start),
            "to": ms_to_ts(rows.end),
            "points": points,
        }
    )


def tool_view(row: Row) -> ToolStats:
    timed = int(row["timed"] or 0)
    return ToolStats(
        name=row["name"],
        calls=int(row["calls"]),
        errors=int(row["errors"]),
        avg_ms=round(float(row["total_ms"]) / timed, 1) if timed else None,
    )


def facets_view(found: dict[str, list[str]]) -> Facets:
    return Facets(frameworks=found["framework"], hosts=found["host"])


def instance_view(row: Row, now_ms: int) -> Instance:
    snapshot = decode_json(row["snapshot"]) or {}
    age = max(0.0, (now_ms - int(row["ts"])) / 1000)
    issues = list(snapshot.get("issues") or [])
    stale = age > STALE_AFTER_S
    if stale:
        issues.append(
            {
                "severity": "critical",
                "code": "no_recent_snapshot",
                "message": f"no snapshot from the monitor for {int(age // 60)} min",
            }
        )
    return Instance(
        name=row["name"],
        ts=iso(row["ts"]),
        age_s=round(age, 1),
        stale=stale,
        snapshot=snapshot,
        issues=issues,
    )


def history_point(row: Row) -> HistoryPoint:
    return HistoryPoint(
        ts=ms_to_ts(int(row["ts"])),
        cpu_pct=row["cpu_pct"],
        mem_pct=row["mem_pct"],
        disk_pct=row["disk_pct"],
    )


# the session statuses the roster words differently: the agent is working
_AGENT_STATE = {"active": "working"}
# and back: the session status an agent's state filters on
AGENT_STATUS = {state: status for status, state in _AGENT_STATE.items()}
# the states in the order whoever needs a person comes first (the store's status urgency)
AGENT_ORDER: tuple[str, ...] = get_args(AgentState)


def agents_view(
    window: Window, rows: AgentRows, timezone: str = "UTC", offset: int = 0
) -> dict[str, Any]:
    """One page of the roster (already in its order) as the `Agents` model's JSON shape,
    built as plain dicts: validating 1,000 nested models costs more than the store's queries
    (tests check the shape against it). The counts and the total cover every agent."""
    vm_views: dict[str, dict[str, Any]] = {}  # a VM's snapshot is decoded once for its agents
    today = {key: _agent_today(row) for key, row in rows.today.items()}
    nothing_today = _agent_today({})
    agents = [
        _agent(row, rows, today.get((row["framework"], row["agent"]), nothing_today), vm_views)
        for row in rows.sessions
    ]
    counts: dict[str, int] = dict.fromkeys(AGENT_ORDER, 0)
    for status, count in rows.counts.items():
        counts[_AGENT_STATE.get(status, status)] += count
    return {
        "window": window,
        "day_start": ms_to_ts(rows.day_start),
        "timezone": timezone,
        "counts": counts,
        "total": rows.total,
        "offset": offset,
        "more": offset + len(agents) < rows.total,
        "agents": agents,
    }


def _agent_today(row: Row) -> dict[str, Any]:
    """An agent's runs, errors, tokens and cost today (agents with none share one)."""
    return {
        "runs": int(row.get("runs") or 0),
        "errors": int(row.get("errors") or 0),
        "tokens": int(row.get("tokens") or 0),
        **cost_fields(row),
    }


def _agent(
    row: Row, rows: AgentRows, today: dict[str, Any], vm_views: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    vm = vm_of(row, rows.vms)
    status = row["status"]
    state = _AGENT_STATE.get(status, status)
    waiting = state == "waiting"
    return {
        "agent_id": agent_id(row["framework"], row["agent"]),
        "framework": row["framework"],
        "client_id": row["client_id"],
        "host": row["host"],
        "state": state,
        "since": iso(row["since_ms"]),
        "session_id": row["session_id"],
        "task": row["run_input"] if row["latest_run"] is not None else row["title"],
        "run_id": row["latest_run"],
        "last_tool": _tool_call(row) if row["latest_tool"] is not None else None,
        "waiting_reason": row["waiting_reason"] if waiting else None,
        "waiting_message": row["waiting_message"] if waiting else None,
        "last_event_at": iso(row["last_ts"]),
        "today": today,
        "vm": _agent_vm(vm, rows.ctx, vm_views) if vm else None,
    }


def _tool_call(row: Row) -> dict[str, Any]:
    """The agent row's latest tool call (its `tool_*` columns)."""
    started = row["tool_started_at"] or row["tool_derived_start"] or row["tool_first_ts"]
    return {"name": row["tool_name"], "status": row["tool_status"] or "running", "at": iso(started)}


def _agent_vm(vm: Row, ctx: StatusContext, vm_views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if vm["name"] in vm_views:
        return vm_views[vm["name"]]
    snapshot = decode_json(vm["snapshot"]) or {}
    lost_since = ctx.lost_vms.get(vm["name"])
    view = vm_views[vm["name"]] = {
        "name": vm["name"],
        "state": vm_state(snapshot),
        "reported_at": iso(vm["ts"]),
        "stale": lost_since is not None and lost_since > int(vm["ts"] or 0),
        "issues": list(snapshot.get("issues") or []),
    }
    return view


# placeholders, most specific first: what varies between two occurrences of one error
_VARYING = (
    (re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`"), "<str>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"(?:[A-Za-z]:\\|~?/)[^\s:,;()\[\]]*"), "<path>"),
    (
        re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", re.I),
        "<id>",
    ),
    (re.compile(r"\d+(?:\.\d+)*"), "<n>"),
)


def normalize_message(message: str | None) -> str:
    """The message with what varies between occurrences replaced by placeholders."""
    text = (message or "").strip()
    for pattern, placeholder in _VARYING:
        text = pattern.sub(placeholder, text)
    return text


def error_group_id(tool: str | None, normalized: str) -> str:
    return hashlib.sha1(f"{tool or ''}\x00{normalized}".encode()).hexdigest()[:16]


def _group_of(row: Row) -> tuple[str, str]:
    normalized = normalize_message(row["message"])
    return error_group_id(row["tool"], normalized), normalized


def error_groups_view(rows: ErrorRows) -> ErrorGroups:
    bucket_ms = rows.bucket_s * 1000
    buckets = (rows.end - rows.start) // bucket_ms
    groups: dict[str, ErrorGroup] = {}
    session_sets: dict[str, set[str]] = {}
    for row in rows.rows:  # newest first
        group_id, normalized = _group_of(row)
        ts = iso(row["ts"]) or ""
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = ErrorGroup(
                group=group_id,
                message=normalized,
                example=row["message"],
                tool=row["tool"],
                count=0,
                first_seen=ts,
                last_seen=ts,
                sessions=0,
                agents=[],
                series=[0] * buckets,
            )
            session_sets[group_id] = set()
        group.count += 1
        group.first_seen = ts
        group.series[min(buckets - 1, max(0, (int(row["ts"]) - rows.start) // bucket_ms))] += 1
        agent = f"{row['framework'] or 'unknown'}/{row['agent'] or 'unknown'}"
        if agent not in group.agents:
            group.agents.append(agent)
        if row["session_id"]:
            session_sets[group_id].add(row["session_id"])
    for group_id, group in groups.items():
        group.sessions = len(session_sets[group_id])
    return ErrorGroups.model_validate(
        {
            "window": rows.window,
            "bucket_seconds": rows.bucket_s,
            "from": ms_to_ts(rows.start),
            "to": ms_to_ts(rows.end),
            "truncated": rows.more,
            "groups": sorted(groups.values(), key=lambda g: -g.count),  # stable: newest first
        }
    )


def error_occurrences_view(group_id: str, rows: ErrorRows, limit: int) -> ErrorOccurrences:
    found = [error_view(row) for row in rows.rows if _group_of(row)[0] == group_id]
    return ErrorOccurrences.model_validate(
        {"group": group_id, "window": rows.window, "errors": found[:limit]}
    )


def attention_item(kind: str, row: Row) -> AttentionItem:
    """A session row from `agentmon.store.attention` (with `occurred_ms` and `ack`)."""
    ack = row["ack"]
    return AttentionItem(
        kind=cast(AttentionKind, kind),
        id=row["session_id"],
        since=ms_to_ts(int(row["occurred_ms"])),
        acknowledged=None
        if ack is None
        else AttentionAck(by=ack.acked_by, at=ms_to_ts(ack.acked_ms)),
        session=session_view(row),
    )


def attention_view(window: Window | None, found: AttentionRows) -> AttentionList:
    return AttentionList(
        window=window,
        since=ms_to_ts(found.since_ms),
        groups=[
            AttentionGroup(
                kind=cast(AttentionKind, kind),
                open=found.open[kind],
                acknowledged=found.acknowledged[kind],
                items=[attention_item(kind, row) for row in rows],
            )
            for kind, rows in found.items.items()
        ],
    )


def timeline_view(hours: int, found: TimelineRows) -> Timeline:
    agents = []
    for lane in found.lanes:
        spans = [(b, e, "working") for b, e in lane.working]
        spans += [(b, e, "waiting") for b, e in lane.waiting]
        agents.append(
            AgentTimeline(
                agent_id=f"{lane.framework}/{lane.agent}",
                framework=lane.framework,
                spans=[
                    TimelineSpan(state=cast(Any, state), start=ms_to_ts(b), end=ms_to_ts(e))
                    for b, e, state in sorted(spans)
                ],
                working_ms=sum(e - b for b, e in lane.working),
                waiting_ms=sum(e - b for b, e in lane.waiting),
            )
        )
    return Timeline.model_validate(
        {
            "hours": hours,
            "from": ms_to_ts(found.start_ms),
            "to": ms_to_ts(found.end_ms),
            "agents": agents,
        }
    )
