"""The Costs view's answer over a month of history: `GET /v1/costs` sums (by time, model,
agent, project, framework, top sessions) for the 24 h, 7 d and 30 d ranges, on a SQLite
store seeded with model calls spread over 30 days.

    .venv/bin/python bench/bench_costs.py [--sessions 2000] [--calls 50] [--repeat 15]

Prints the rows of usage_hour the seed made and the median time of each range's sums.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentmon.events import Envelope, new_event
from agentmon.store.costs import DAY_MS, HOUR_MS, cost_rows
from agentmon.store.sqlite import SQLiteStore

AGENTS = [("claude-code", f"laptop-{i}") for i in range(8)] + [
    ("codex", f"devbox-{i}") for i in range(6)
]
MODELS = ("claude-sonnet-4-6", "gpt-5.4", "gemini-2.5-pro", "house-model-7")


def session_events(index: int, rng: random.Random, now: datetime) -> list[Envelope]:
    framework, host = AGENTS[index % len(AGENTS)]
    start = now - timedelta(minutes=rng.randint(10, 30 * 24 * 60))
    session = f"bench-{index}"
    events = [
        new_event(
            "session.start",
            framework=framework,
            host=host,
            session_id=session,
            ts=start,
            payload={"cwd": f"/src/project-{index % 12}", "title": f"task {index}"},
        )
    ]
    for call in range(args.calls):
        usage = {"input_tokens": rng.randint(100, 20_000), "output_tokens": rng.randint(10, 2_000)}
        events.append(
            new_event(
                "metric.snapshot",
                framework=framework,
                host=host,
                session_id=session,
                ts=start + timedelta(seconds=20 * call),
                payload={"model": MODELS[(index + call) % len(MODELS)], "usage": usage},
            )
        )
    return events


async def seed(store: SQLiteStore, rng: random.Random) -> None:
    now = datetime.now(UTC)
    for first in range(0, args.sessions, 50):
        batch = [e for i in range(first, first + 50) for e in session_events(i, rng, now)]
        await store.write(batch)


async def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "costs.db")
        await store.open()
        await seed(store, rng)
        rows = (await store.fetch("SELECT count(*) AS n FROM usage_hour", []))[0]["n"]
        print(f"seeded {args.sessions} sessions x {args.calls} calls over 30 days: {rows} rows")
        end = int(time.time() * 1000)
        for name, span, bucket in (
            ("24h", DAY_MS, HOUR_MS),
            ("7d", 7 * DAY_MS, DAY_MS),
            ("30d", 30 * DAY_MS, DAY_MS),
        ):
            times = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                await cost_rows(store, end - span, end, bucket)
                times.append(time.perf_counter() - began)
            print(f"/v1/costs range={name}: median {statistics.median(times) * 1000:.1f} ms")
        await store.close()


parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--sessions", type=int, default=2000)
parser.add_argument("--calls", type=int, default=50)
parser.add_argument("--repeat", type=int, default=15)
args = parser.parse_args()

if __name__ == "__main__":
    asyncio.run(main())
