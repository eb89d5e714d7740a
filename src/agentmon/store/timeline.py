"""Each agent's last hours as spans of working and waiting (the rest is idle): the roster's
swimlanes.

Working is a run from its start to its end (an open run: to now, or to its last event once it
is silent for longer than the stuck threshold). Waiting is from an event that says the agent
waits for a human (`agent_state` = `waiting_for_human`, recorded at ingest in `agent_waits`) to
the session's next event (or now); it wins over working, since a waiting agent's run stays
open while it asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agentmon.events import ts_to_ms
from agentmon.store.agents import AGENT_SQL
from agentmon.store.base import Store
from agentmon.store.queries import Row

# runs longer than this before the window are not looked for
LONGEST_RUN_MS = 86_400_000

Interval = tuple[int, int]


@dataclass
class AgentLane:
    framework: str
    agent: str
    working: list[Interval] = field(default_factory=list)
    waiting: list[Interval] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineRows:
    start_ms: int
    end_ms: int
    lanes: list[AgentLane]  # most waiting first


async def timeline(store: Store, hours: int, now_ms: int | None = None) -> TimelineRows:
    now_ms = now_ms or int(time.time() * 1000)
    start_ms = now_ms - hours * 3_600_000
    lanes: dict[tuple[str, str], AgentLane] = {}

    def lane(row: Row) -> AgentLane:
        key = (row["framework"] or "unknown", row["agent"] or "unknown")
        return lanes.setdefault(key, AgentLane(*key))

    stuck_cutoff = now_ms - store.attention.stuck_after_ms
    for run in await _runs(store, start_ms):
        begin = int(run["begin"])
        if run["ended_at"] is not None:
            end = int(run["ended_at"])
        else:
            last = int(run["last_ts"] or begin)
            end = now_ms if last >= stuck_cutoff else last
        _add(lane(run).working, begin, end, start_ms, now_ms)
    for wait in await _waits(store, start_ms):
        end = now_ms if wait["next_ts"] is None else _ms(wait["next_ts"])
        _add(lane(wait).waiting, _ms(wait["ts"]), end, start_ms, now_ms)
    for found in lanes.values():
        found.waiting = _merged(found.waiting)
        found.working = _without(_merged(found.working), found.waiting)
    ordered = sorted(lanes.values(), key=lambda a: (-_total(a.waiting), a.framework, a.agent))
    return TimelineRows(start_ms, now_ms, ordered)


async def _runs(store: Store, start_ms: int) -> list[Row]:
    return await store.fetch(
        f"SELECT s.framework AS framework, {AGENT_SQL} AS agent, "
        "coalesce(r.started_at, r.first_ts) AS begin, r.ended_at, r.last_ts "
        "FROM runs r JOIN sessions s ON s.session_id = r.session_id "
        "WHERE r.first_ts >= ? AND (r.ended_at IS NULL OR r.ended_at >= ?)",
        [start_ms - LONGEST_RUN_MS, start_ms],
    )


async def _waits(store: Store, start_ms: int) -> list[Row]:
    """The waits recorded at ingest (`agent_waits`) in the window, each with the ts of its
    session's next event."""
    asked = "w.event_ts::timestamptz" if store.dialect == "postgres" else "w.event_ts"
    return await store.fetch(
        "SELECT w.framework, w.agent, w.event_ts AS ts, (SELECT min(n.ts) FROM events n "
        f"WHERE n.session_id = w.session_id AND n.ts > {asked}) AS next_ts "
        "FROM agent_waits w WHERE w.ts >= ?",
        [start_ms],
    )


def _ms(ts: Any) -> int:
    """events.ts (canonical text in SQLite, a datetime in PostgreSQL) as epoch ms."""
    if isinstance(ts, str):
        return ts_to_ms(ts)
    return int(ts.timestamp() * 1000)


def _add(spans: list[Interval], begin: int, end: int, low: int, high: int) -> None:
    begin, end = max(begin, low), min(end, high)
    if end > begin:
        spans.append((begin, end))


def _merged(spans: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _without(spans: list[Interval], holes: list[Interval]) -> list[Interval]:
    """`spans` minus `holes` (both sorted and disjoint)."""
    left: list[Interval] = []
    for begin, end in spans:
        for hole_begin, hole_end in holes:
            if hole_end <= begin or hole_begin >= end:
                continue
            if hole_begin > begin:
                left.append((begin, hole_begin))
            begin = max(begin, hole_end)
        if end > begin:
            left.append((begin, end))
    return left


def _total(spans: list[Interval]) -> int:
    return sum(end - begin for begin, end in spans)
