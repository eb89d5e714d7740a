"""Memory and latency of `GET /v1/events?limit=1000` when every payload is big (issue 9).

Seeds an embedded data directory with EVENTS events of PAYLOAD_KB each (written straight
into the store), starts `agentmon serve` on it, then has PARALLEL clients page through
`/v1/events?limit=1000` for ROUNDS rounds while sampling the server's RSS. Prints the peak
RSS, the median answer time and the median answer size.

    .venv/bin/python bench/bench_event_pages.py [--events 600] [--payload-kb 200]

Run it with PYTHONPATH pointing at another checkout's src/ to measure that code instead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import start_embedded

from agentmon.events import new_event
from agentmon.store.sqlite import SQLiteStore


async def seed(path: Path, events: int, payload_kb: int) -> None:
    store = SQLiteStore(path)
    await store.open()
    blob = "x" * (payload_kb * 1024)
    for start in range(0, events, 50):
        await store.write(
            [
                new_event("run.end", framework="big", session_id=f"s{i}", payload={"output": blob})
                for i in range(start, min(start + 50, events))
            ]
        )
    await store.close()


def page_through(url: str, timings: list[float], sizes: list[int]) -> None:
    with httpx.Client(timeout=120) as client:
        params: dict[str, str] = {"limit": "1000"}
        while True:
            started = time.perf_counter()
            response = client.get(f"{url}/v1/events", params=params)
            timings.append(time.perf_counter() - started)
            sizes.append(len(response.content))
            cursor = response.json().get("next_cursor")
            if not cursor:
                return
            params = {"limit": "1000", "cursor": cursor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--payload-kb", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        asyncio.run(seed(data_dir / "agentmon.db", args.events, args.payload_kb))
        server = start_embedded(data_dir)
        try:
            process = psutil.Process(server.process.pid)
            idle_mb = process.memory_info().rss / 2**20
            peak = [idle_mb]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.05):
                    peak[0] = max(peak[0], process.memory_info().rss / 2**20)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            timings: list[float] = []
            sizes: list[int] = []
            with ThreadPoolExecutor(args.parallel) as pool:
                for _ in range(args.rounds):
                    jobs = [
                        pool.submit(page_through, server.query_url, timings, sizes)
                        for _ in range(args.parallel)
                    ]
                    for job in jobs:
                        job.result()
            done.set()
            sampler.join()
        finally:
            server.stop()
    print(
        f"{args.events} events x {args.payload_kb} KB, {args.parallel} parallel clients "
        f"paging /v1/events?limit=1000, {args.rounds} rounds"
    )
    print(f"  RSS idle {idle_mb:.0f} MB, peak {peak[0]:.0f} MB")
    print(
        f"  {len(timings)} answers: median {statistics.median(timings) * 1000:.0f} ms, "
        f"median size {statistics.median(sizes) / 2**20:.1f} MiB, "
        f"largest {max(sizes) / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
