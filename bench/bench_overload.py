"""Overload: ingest driven at twice what it can store, and the server's memory over time.

    .venv/bin/python bench/bench_overload.py                      # embedded, 5 minutes
    .venv/bin/python bench/bench_overload.py --seconds 60         # a quick run
    .venv/bin/python bench/bench_overload.py --mode distributed --processors 1

Starts the real services (as `bench_ingest.py` does), measures their capacity with a short
closed-loop burst (batches of 100, 16 connections, every batch retried until acknowledged),
then sends batches open-loop at `--factor` (default 2) times that rate for `--seconds`:
the schedule does not wait for answers, as a fleet of agents does not, over `--connections`
keep-alive connections (a batch due while every connection is busy and another batch
already waits is counted as not sent).
A 503 is counted and not retried, so the pressure stays at the factor. Every `--every`
seconds it prints the servers' RSS, what was acknowledged, refused with 503 and stored.
Bounded queues show as an RSS that levels off while 503s carry the excess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import (
    Target,
    count_events,
    delete_stream,
    make_bodies,
    start_distributed_target,
    start_embedded_target,
    total_rss_mb,
)
from tests.conftest import ServerProcess, admin_sql

JSON = {"content-type": "application/json"}
ID_HEAD = re.compile(rb'"id":"[0-9a-f]{8}')


@dataclass
class Tally:
    acknowledged: int = 0
    refused_503: int = 0
    other_errors: int = 0
    sent: int = 0
    not_sent: int = 0
    retry_after: float = 0.0
    seconds_to_ack: list[float] = field(default_factory=list)
    seconds_to_503: list[float] = field(default_factory=list)

    def latencies(self) -> str:
        """Median and p99 time from sending a batch to its answer, per kind of answer."""
        parts = []
        for kind, seconds in (("200", self.seconds_to_ack), ("503", self.seconds_to_503)):
            if seconds:
                ordered = sorted(seconds)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                median = statistics.median(ordered)
                parts.append(f"{kind}: median {median * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms")
        return "answer time " + ("; ".join(parts) or "none")


class FreshBodies:
    """Batches with event ids never sent before, made faster than `make_bodies` could (the
    client must outrun the server): a pool of templates whose event ids have their first 8
    hex digits (UUIDv7's time, which moves every 65 s) replaced by a placeholder, which each
    use replaces with a counter. (Reading the shared digits from the first id instead left
    a template made past a 65 s boundary unchanged, so it was resent with the same ids and
    acknowledged as duplicates.)"""

    PLACEHOLDER = b"@@@@@@@@"

    def __init__(self, size: int, templates: int = 200) -> None:
        self.templates = [
            ID_HEAD.sub(b'"id":"' + self.PLACEHOLDER, body) for body in make_bodies(templates, size)
        ]
        self.counter = 0

    def next(self) -> bytes:
        template = self.templates[self.counter % len(self.templates)]
        self.counter += 1
        return template.replace(self.PLACEHOLDER, f"f{self.counter:07x}".encode())


async def capacity(target: Target, batches: int, size: int) -> float:
    """Events/s acknowledged and stored by a closed-loop burst that retries every 503."""
    bodies = make_bodies(batches, size)
    before = await count_events(target)
    queue = list(bodies)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                while (
                    await client.post(target.ingest_url + "/v1/events", content=body, headers=JSON)
                ).status_code == 503:
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(worker() for _ in range(16)))
    while await count_events(target) - before < batches * size:
        await asyncio.sleep(0.01)
    return batches * size / (time.perf_counter() - started)


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol to POST a
    body and read the answer: httpx costs more CPU per request than the server on this
    machine, and the sender has to outrun the server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            status_line = await reader.readuntil(b"\r\n")
            headers: dict[str, str] = {}
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            self.streams = None
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
            self.streams = None
        return int(status_line.split()[1]), headers, content


async def stored_since(target: Target, before: int) -> int | str:
    """Events stored since `before`; "?" when the query API is too busy to answer in time
    (under overload it shares the server's process and cores)."""
    try:
        return await count_events(target) - before
    except httpx.HTTPError:
        return "?"


def rss_mb(pids: list[int]) -> list[float]:
    """Each process's RSS in MB, in the order given."""
    return [total_rss_mb([pid]) for pid in pids]


async def overload(
    target: Target, pids: list[int], rate: float, args: argparse.Namespace
) -> list[list[float]]:
    """Open-loop load at `rate` events/s over `args.connections` connections; prints a
    line every `args.every` seconds and returns the RSS samples (MB, one per process)."""
    tally = Tally()
    bodies = FreshBodies(args.batch_size)
    tickets: asyncio.Queue[bytes] = asyncio.Queue()
    samples: list[list[float]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop = started + args.seconds

    async def sender() -> None:
        connection = Connection(target.ingest_url + "/v1/events")
        while True:
            body = await tickets.get()
            sent_at = loop.time()
            try:
                status, headers, content = await connection.post(body)
            except (OSError, asyncio.IncompleteReadError):
                tally.other_errors += 1
                continue
            if status == 200:
                tally.acknowledged += int(msgspec.json.decode(content)["accepted"])
                tally.seconds_to_ack.append(loop.time() - sent_at)
            elif status == 503:
                tally.refused_503 += 1
                tally.seconds_to_503.append(loop.time() - sent_at)
                tally.retry_after = float(headers.get("retry-after", 0))
            else:
                tally.other_errors += 1

    senders = [asyncio.create_task(sender()) for _ in range(args.connections)]
    stored_before = await count_events(target)
    header = ("t (s)", 6), ("RSS MB", 8), ("sent ev/s", 10), ("acked ev/s", 11), ("503s", 7)
    print(" ".join(f"{name:>{width}}" for name, width in header), "   stored  not sent")
    next_report = started
    interval = args.batch_size / rate
    due = started
    while (now := loop.time()) < stop:
        while due <= now:  # every batch due by now: open loop, the schedule never waits
            due += interval
            if tickets.qsize() >= args.connections:  # every connection busy and one waiting
                tally.not_sent += 1
            else:
                tally.sent += 1
                tickets.put_nowait(bodies.next())
        if now >= next_report:
            sample = rss_mb(pids)
            samples.append(sample)
            rss = sum(sample)
            stored = await stored_since(target, stored_before)
            elapsed = max(now - started, 1e-9)
            print(
                f"{elapsed:6.0f} {rss:8.0f} {tally.sent * args.batch_size / elapsed:10,.0f} "
                f"{tally.acknowledged / elapsed:11,.0f} "
                f"{tally.refused_503:7d} {stored:>9} {tally.not_sent:9d}",
                flush=True,
            )
            next_report += args.every
        await asyncio.sleep(min(interval, 0.01))
    for task in senders:
        task.cancel()
    print(
        f"sent for {args.seconds:.0f}s at {rate:,.0f} events/s: {tally.acknowledged} events "
        f"acknowledged, {tally.refused_503} batches refused with 503 (last Retry-After "
        f"{tally.retry_after:.0f}s), {tally.other_errors} other errors, {tally.not_sent} "
        f"batches not sent (all {args.connections} connections busy)"
    )
    print(tally.latencies())
    return samples


def process_names(args: argparse.Namespace) -> list[str]:
    if args.mode == "embedded":
        return ["serve"]
    return ["ingest-gateway"] + [f"event-processor {i + 1}" for i in range(args.processors)]


def report_rss(names: list[str], before: list[float], samples: list[list[float]]) -> None:
    """Per process and in total: RSS before the load, its peak, at the end, and the peak of
    each half of the run (a bounded process has its peak by the first half)."""
    half = len(samples) // 2
    columns = [*zip(*samples, strict=True), [sum(sample) for sample in samples]]
    print("RSS MB           before    peak     end  peak 1st half  peak 2nd half")
    for name, start, column in zip([*names, "total"], [*before, sum(before)], columns, strict=True):
        print(
            f"  {name:18s} {start:6.0f} {max(column):7.0f} {column[-1]:7.0f} "
            f"{max(column[: max(half, 1)]):14.0f} {max(column[half:]):14.0f}"
        )
    totals = columns[-1]
    print(f"RSS total over the run: median {statistics.median(totals):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--factor", type=float, default=2.0, help="times the measured capacity")
    parser.add_argument("--rate", type=float, help="events/s to send (skips the capacity burst)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--burst-batches", type=int, default=300)
    parser.add_argument("--connections", type=int, default=512)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--processors", type=int, default=1)
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-overload-"))
    database = None
    servers: list[ServerProcess] = []
    target: Target | None = None
    try:
        if args.mode == "distributed":
            database = f"agentmon_bench_{uuid.uuid4().hex[:8]}"
            admin_sql(args.pg, f'CREATE DATABASE "{database}"')
            target, servers = start_distributed_target(tmp, args, f"{args.pg}/{database}", {})
        else:
            target, servers = start_embedded_target(tmp, {})
        pids = [server.process.pid for server in servers]
        rate = args.rate
        if rate is None:
            measured = asyncio.run(capacity(target, args.burst_batches, args.batch_size))
            rate = measured * args.factor
            print(
                f"capacity {measured:,.0f} events/s; sending {rate:,.0f} events/s ({args.factor}x)"
            )
        names = process_names(args)
        before = rss_mb(pids)
        print(f"RSS before: {sum(before):.0f} MB ({args.mode})")
        samples = asyncio.run(overload(target, pids, rate, args))
        if samples:
            report_rss(names, before, samples)
    finally:
        for server in servers:
            server.stop()
        if target is not None:
            delete_stream(target)
        if database:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
