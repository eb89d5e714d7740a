"""Live latency: time from POSTing an event to its frame arriving on the query API's WebSocket,
at a steady 1,000 events/s (batches of 10 every 10 ms), against an embedded `agentmon serve`.

    .venv/bin/python bench/bench_live.py --seconds 20

Each event carries its send time in the payload; the receiver records arrival - send. Prints
p50/p95/p99 and the server's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_embedded

from agentmon.events import new_event


async def receive(url: str, latencies: list[float], expected: int, ready: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # hello
        ready.set()
        while len(latencies) < expected:
            frame = json.loads(await ws.recv())
            now = time.time()
            for event in frame.get("events", []):
                latencies.append((now - event["payload"]["sent"]) * 1000)


async def send(ingest_url: str, rate: int, seconds: float, per_post: int) -> int:
    """Post on a fixed schedule; posts overlap, so a slow answer never delays the next one."""
    session = str(uuid.uuid4())
    interval = per_post / rate
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post_one() -> int:
            stamp = time.time()
            events = [
                new_event(
                    "span.start",
                    framework="bench-live",
                    session_id=session,
                    run_id="r",
                    span_id=str(uuid.uuid4()),
                    payload={"kind": "tool", "name": "x", "sent": stamp},
                )
                for _ in range(per_post)
            ]
            response = await client.post(
                f"{ingest_url}/v1/events",
                content=msgspec.json.encode(events),
                headers={"content-type": "application/json"},
            )
            return int(response.json()["accepted"])

        posts = []
        start = time.perf_counter()
        for index in range(int(seconds / interval)):
            await asyncio.sleep(max(0.0, start + index * interval - time.perf_counter()))
            posts.append(asyncio.create_task(post_one()))
        return sum(await asyncio.gather(*posts))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    server = start_embedded(Path(tempfile.mkdtemp(prefix="agentmon-live-")) / "data")
    try:
        latencies: list[float] = []
        expected = int(args.rate * args.seconds)
        ready = asyncio.Event()
        ws_url = server.query_url.replace("http", "ws") + "/v1/ws?framework=bench-live"
        receiver = asyncio.create_task(receive(ws_url, latencies, expected, ready))
        await ready.wait()
        sent = await send(server.ingest_url, args.rate, args.seconds, args.per_post)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver, 10)
        rss = psutil.Process(server.process.pid).memory_info().rss / 1e6
        print(f"sent {sent} events at {args.rate}/s, received {len(latencies)} on the live feed")
        print(
            f"latency ms: p50 {statistics.median(latencies):.1f}  "
            f"p95 {percentile(latencies, 0.95):.1f}  "
            f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
        )
        print(f"server RSS: {rss:.0f} MB")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--per-post", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
