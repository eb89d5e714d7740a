"""What model calls cost over a range: sums of `usage_hour` (calls per hour, session and
model) by time, model, agent, project and framework, and the sessions that cost the most.

The session a call belongs to gives its agent (framework + client id, or host) and its
project (the session's cwd); calls without a session count in the totals, with neither.
Models are grouped under `pricing.model_key`, so one model that tools name differently
("claude-sonnet-4-6", "anthropic/claude-sonnet-4.6") is one row, its names listed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentmon.pricing import model_key
from agentmon.store.queries import Queries, Row
from agentmon.store.tables import COST_COUNTS

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# rows per grouping at most (most expensive first); the totals always cover everything
GROUP_LIMIT = 100

_SUMMED = (
    "calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
    "cost_usd",
    *COST_COUNTS,
)
SUMS = ", ".join(f"sum(u.{name}) AS {name}" for name in _SUMMED)
_COUNTED = f"{SUMS}, count(DISTINCT nullif(u.session_id, '')) AS sessions"
_MOST_FIRST = "ORDER BY sum(u.cost_usd) DESC, sum(u.total_tokens) DESC, 1"
_JOINED = "FROM usage_hour u LEFT JOIN sessions s ON s.session_id = u.session_id"
_IN_RANGE = "WHERE u.bucket >= ? AND u.bucket < ?"
AGENT = "coalesce(s.client_id, s.host, '')"


@dataclass(frozen=True)
class CostRows:
    start: int  # epoch ms, rounded down to the hour (the table's resolution)
    end: int
    bucket_ms: int
    total: Row
    series: list[Row]  # `b`: the bucket's start; buckets without calls absent
    by_model: list[Row]  # `model` (the most used name), `names` (every name, most used first)
    by_agent: list[Row]  # `agent`, `framework`, `client_id`, `host`
    by_project: list[Row]  # `cwd`
    by_framework: list[Row]
    top_sessions: list[Row]  # the sums plus the session's own columns


async def cost_rows(
    store: Queries, start_ms: int, end_ms: int, bucket_ms: int, top: int = 10
) -> CostRows:
    start = start_ms // HOUR_MS * HOUR_MS
    span = [start, end_ms]
    grouped = f"{_IN_RANGE} GROUP BY 1 {_MOST_FIRST} LIMIT {GROUP_LIMIT}"
    total, series, models, agents, projects, frameworks, top_sessions = await asyncio.gather(
        store.fetch(f"SELECT {_COUNTED} FROM usage_hour u {_IN_RANGE}", span),
        store.fetch(
            f"SELECT u.bucket / ? * ? AS b, {_COUNTED} FROM usage_hour u {_IN_RANGE} "
            "GROUP BY 1 ORDER BY 1",
            [bucket_ms, bucket_ms, *span],
        ),
        _by_model(store, span),
        store.fetch(
            f"SELECT u.framework AS framework, {AGENT} AS agent, max(s.client_id) AS client_id, "
            f"max(s.host) AS host, {_COUNTED} {_JOINED} {_IN_RANGE} GROUP BY 1, 2 "
            f"{_MOST_FIRST} LIMIT {GROUP_LIMIT}",
            span,
        ),
        store.fetch(f"SELECT s.cwd AS cwd, {_COUNTED} {_JOINED} {grouped}", span),
        store.fetch(
            f"SELECT u.framework AS framework, {_COUNTED} FROM usage_hour u {grouped}", span
        ),
        _top_sessions(store, span, top),
    )
    return CostRows(
        start,
        end_ms,
        bucket_ms,
        total[0] if total else {},
        series,
        models,
        agents,
        projects,
        frameworks,
        top_sessions,
    )


async def _top_sessions(store: Queries, span: list[int], top: int) -> list[Row]:
    sums = await store.fetch(
        f"SELECT u.session_id AS session_id, {SUMS} FROM usage_hour u {_IN_RANGE} "
        f"AND u.session_id <> '' GROUP BY 1 {_MOST_FIRST} LIMIT ?",
        [*span, top],
    )
    if not sums:
        return []
    chosen, params = store.in_list("session_id", [row["session_id"] for row in sums])
    sessions = await store.fetch(
        "SELECT session_id, title, framework, host, client_id, cwd, model, first_ts, "
        f"started_at, last_ts, ended_at FROM sessions WHERE {chosen}",
        params,
    )
    by_id = {row["session_id"]: row for row in sessions}
    return [{**by_id.get(row["session_id"], {}), **row} for row in sums]


async def _by_model(store: Queries, span: list[int]) -> list[Row]:
    """The sums per model key, most expensive first: a model's names are summed into one
    row, its sessions counted again across them (a session may use several)."""
    rows = await store.fetch(
        f"SELECT u.model AS model, {_COUNTED} FROM usage_hour u {_IN_RANGE} GROUP BY 1 ORDER BY "
        "sum(u.calls) DESC, 1",
        span,
    )
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(model_key(row["model"] or ""), []).append(row)
    merged = [await _merged(store, span, named) for named in groups.values()]
    merged.sort(key=lambda r: (-(r["cost_usd"] or 0), -(r["total_tokens"] or 0), r["model"]))
    return merged[:GROUP_LIMIT]


async def _merged(store: Queries, span: list[int], rows: list[Row]) -> Row:
    """One model's row from the rows of its names (most calls first)."""
    names = [row["model"] for row in rows]
    merged: Row = {"model": names[0], "names": names}
    for name in _SUMMED:
        values = [row[name] for row in rows if row[name] is not None]
        merged[name] = sum(values) if values else None
    merged["sessions"] = rows[0]["sessions"]
    if len(rows) > 1:
        chosen, params = store.in_list("u.model", names)
        counted = await store.fetch(
            "SELECT count(DISTINCT nullif(u.session_id, '')) AS sessions FROM usage_hour u "
            f"{_IN_RANGE} AND {chosen}",
            [*span, *params],
        )
        merged["sessions"] = counted[0]["sessions"]
    return merged
