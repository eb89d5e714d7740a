"""The gateway under many live viewers: acknowledgement latency of POST /v1/events and the
server's RSS while N WebSocket viewers watch the live feed of an embedded `agentmon serve`.

    .venv/bin/python bench/bench_live_viewers.py --viewers 500 --seconds 20
    .venv/bin/python bench/bench_live_viewers.py --viewers 0 --seconds 20     # the baseline

The viewers run in their own process (so their reading does not slow the poster); events are
posted at a fixed rate (batches of 10). Prints ack p50/p99/max, the server's RSS (median and
largest, sampled every 0.5 s), /healthz latency, and what the viewers received or were told
they missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_live import percentile
from tests.conftest import start_embedded

from agentmon.events import new_event


class Frame(msgspec.Struct):
    type: str
    events: list[msgspec.Raw] = []
    count: int = 0


decode_frame = msgspec.json.Decoder(Frame).decode


async def _watch(url: str, viewers: int, seconds: float, ready: object, out: object) -> None:
    counts = {"events": 0, "dropped": 0, "viewers": 0}

    async def one() -> None:
        async with websockets.connect(url, max_size=None, open_timeout=60) as ws:
            await ws.recv()
            counts["viewers"] += 1
            if counts["viewers"] == viewers:
                ready.set()  # type: ignore[attr-defined]
            deadline = time.monotonic() + seconds + 30
            while time.monotonic() < deadline:
                try:
                    frame = decode_frame(await asyncio.wait_for(ws.recv(decode=False), 2))
                except TimeoutError:
                    continue
                counts["events"] += len(frame.events)
                counts["dropped"] += frame.count

    tasks = []
    for _ in range(viewers):
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put(counts)  # type: ignore[attr-defined]


def viewers_process(url: str, viewers: int, seconds: float, ready: object, out: object) -> None:
    asyncio.run(_watch(url, viewers, seconds, ready, out))


async def post_steadily(url: str, rate: int, seconds: float, per_post: int) -> list[float]:
    acks: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:

        async def one() -> None:
            body = msgspec.json.encode(
                [new_event("span.start", framework="bench-viewers") for _ in range(per_post)]
            )
            started = time.perf_counter()
            answer = await client.post(
                f"{url}/v1/events", content=body, headers={"content-type": "application/json"}
            )
            answer.raise_for_status()
            acks.append((time.perf_counter() - started) * 1000)

        interval = per_post / rate
        posts = []
        start = time.perf_counter()
        for index in range(int(seconds / interval)):
            await asyncio.sleep(max(0.0, start + index * interval - time.perf_counter()))
            posts.append(asyncio.create_task(one()))
        await asyncio.gather(*posts)
    return acks


async def probe_health(url: str, stop: asyncio.Event) -> list[float]:
    took = []
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                (await client.get(f"{url}/healthz")).raise_for_status()
                took.append((time.perf_counter() - started) * 1000)
            except httpx.HTTPError:
                took.append(float("inf"))
            await asyncio.sleep(0.5)
    return took


async def sample_rss(pid: int, stop: asyncio.Event) -> list[float]:
    process, samples = psutil.Process(pid), []
    while not stop.is_set():
        samples.append(process.memory_info().rss / 1e6)
        await asyncio.sleep(0.5)
    return samples


async def run(args: argparse.Namespace) -> None:
    env = {"AGENTMON_LIVE_MAX_VIEWERS": str(max(args.viewers, 1) + 10)}
    server = start_embedded(Path(tempfile.mkdtemp(prefix="agentmon-viewers-")) / "data", env=env)
    watcher = None
    try:
        rss_idle = psutil.Process(server.process.pid).memory_info().rss / 1e6
        context = multiprocessing.get_context("spawn")
        ready, out = context.Event(), context.Queue()
        if args.viewers:
            url = server.query_url.replace("http", "ws") + "/v1/ws?framework=bench-viewers"
            watcher = context.Process(
                target=viewers_process, args=(url, args.viewers, args.seconds, ready, out)
            )
            watcher.start()
            await asyncio.to_thread(ready.wait, 120)
        stop = asyncio.Event()
        rss = asyncio.create_task(sample_rss(server.process.pid, stop))
        health = asyncio.create_task(probe_health(server.query_url, stop))
        acks = await post_steadily(server.ingest_url, args.rate, args.seconds, args.per_post)
        stop.set()
        rss_samples, health_ms = await rss, await health
        print(f"{args.viewers} viewers, {len(acks) * args.per_post} events at {args.rate}/s")
        print(
            f"ack ms: p50 {statistics.median(acks):.1f}  p99 {percentile(acks, 0.99):.1f}  "
            f"max {max(acks):.1f}"
        )
        print(
            f"server RSS MB: idle {rss_idle:.0f}  median {statistics.median(rss_samples):.0f}  "
            f"max {max(rss_samples):.0f}"
        )
        print(
            f"/healthz ms: p50 {statistics.median(health_ms):.1f}  max {max(health_ms):.1f}  "
            f"({len(health_ms)} probes)"
        )
        if watcher is not None:
            counts = await asyncio.to_thread(out.get, True, args.seconds + 60)
            sent = len(acks) * args.per_post
            print(
                f"viewers: {counts['viewers']} connected; events received {counts['events']} "
                f"+ announced dropped {counts['dropped']} = "
                f"{(counts['events'] + counts['dropped']) / max(1, sent * args.viewers):.1%} "
                "of sent x viewers"
            )
    finally:
        if watcher is not None:
            watcher.join(timeout=args.seconds + 60)
            if watcher.is_alive():
                watcher.terminate()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--per-post", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
