"""p50 and p95 latency per tool, over its latest calls in a window (the rollups keep sums,
which give a mean but no percentile)."""

from __future__ import annotations

import asyncio
import math

from agentmon.store.base import Store

# the newest calls of a tool read for its percentiles: past this the figures describe them
LATEST_CALLS = 5000
_DURATION = "coalesce(duration_ms, ended_at - coalesce(started_at, derived_start))"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


async def tool_latency(
    store: Store, names: list[str], since_ms: int
) -> dict[str, tuple[float, float]]:
    """tool name → (p50 ms, p95 ms) of its timed calls since `since_ms` (the newest
    LATEST_CALLS of them); tools without a timed call are left out."""

    async def one(name: str) -> tuple[str, list[float]]:
        rows = await store.fetch(
            f"SELECT {_DURATION} AS ms FROM spans WHERE kind = 'tool' AND name = ? "
            "AND first_ts >= ? ORDER BY first_ts DESC LIMIT ?",
            [name, since_ms, LATEST_CALLS],
        )
        return name, sorted(float(r["ms"]) for r in rows if r["ms"] is not None)

    found = await asyncio.gather(*(one(name) for name in names))
    return {
        name: (percentile(values, 0.5), percentile(values, 0.95))
        for name, values in found
        if values
    }
