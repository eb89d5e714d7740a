"""End-to-end ingest: events/s acknowledged AND queryable, batches of 100 over HTTP.

    .venv/bin/python bench/bench_ingest.py --mode embedded
    .venv/bin/python bench/bench_ingest.py --mode distributed --processors 2

Starts the real services as subprocesses (embedded: `agentmon serve`; distributed:
`ingest-gateway` + N `event-processor` against local NATS and a fresh PostgreSQL database),
posts pre-encoded batches from a separate client process with keep-alive connections, and
stops the clock when the store's own count (read through the query API's summary) reaches
the number of acknowledged events. Prints each round and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import ServerProcess, admin_sql, free_port, start_agentmon, start_embedded

from agentmon.events import new_event

FRAMEWORKS = ("claude-code", "codex", "openclaw", "gemini-cli")


def make_bodies(batches: int, size: int) -> list[bytes]:
    """Realistic mixed batches: sessions with runs, tool spans, usage snapshots."""
    bodies = []
    for b in range(batches):
        session = str(uuid.uuid4())
        framework = FRAMEWORKS[b % len(FRAMEWORKS)]
        run = str(uuid.uuid4())
        events = [
            new_event("session.start", framework=framework, host=f"h{b % 7}", session_id=session)
        ]
        events.append(
            new_event(
                "run.start",
                framework=framework,
                session_id=session,
                run_id=run,
                payload={"input": "bench"},
            )
        )
        while len(events) < size:
            span = str(uuid.uuid4())
            kind = "span.start" if len(events) % 3 else "metric.snapshot"
            payload = (
                {"kind": "tool", "name": "Bash", "input": {"command": "ls -la"}}
                if kind == "span.start"
                else {"usage": {"input_tokens": 100, "output_tokens": 10}, "model": "m"}
            )
            events.append(
                new_event(
                    kind,
                    framework=framework,
                    session_id=session,
                    run_id=run,
                    span_id=span,
                    payload=payload,
                )
            )
            if kind == "span.start" and len(events) < size:
                events.append(
                    new_event(
                        "span.end",
                        framework=framework,
                        session_id=session,
                        run_id=run,
                        span_id=span,
                        payload={"kind": "tool", "name": "Bash", "status": "ok", "duration_ms": 12},
                    )
                )
        bodies.append(msgspec.json.encode(events[:size]))
    return bodies


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> int:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                count = await post_one(client, url, queue.get_nowait())
                accepted += count  # not `+= await`: that reads `accepted` before awaiting

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted


async def post_one(client: httpx.AsyncClient, url: str, body: bytes) -> int:
    """Post until acknowledged: 503 (queue full) and dropped connections are retried, as a
    real producer would."""
    while True:
        try:
            response = await client.post(
                url, content=body, headers={"content-type": "application/json"}
            )
        except httpx.TransportError:
            await asyncio.sleep(0.05)
            continue
        if response.status_code == 503:
            await asyncio.sleep(0.05)
            continue
        response.raise_for_status()
        return int(response.json()["accepted"])


def client_process(
    url: str, batches: int, size: int, concurrency: int, ready: Any, go: Any, out: Any
) -> None:
    """A load generator in its own process: encode first, then post when told to."""
    bodies = make_bodies(batches, size)
    ready.set()
    go.wait()
    out.put(asyncio.run(post_all(url, bodies, concurrency)))


@dataclass
class Target:
    ingest_url: str
    query_url: str | None = None
    dsn: str | None = None


async def count_events(target: Target) -> int:
    """Events the store has projected (so they are queryable), from the rollups."""
    if target.dsn:
        conn = await asyncpg.connect(target.dsn)
        try:
            return int(await conn.fetchval("SELECT coalesce(sum(events), 0) FROM rollup_minute"))
        finally:
            await conn.close()
    async with httpx.AsyncClient() as client:
        summary = (await client.get(f"{target.query_url}/v1/stats/summary")).json()
        return int(summary["events"])


def run_round(target: Target, args: argparse.Namespace) -> float:
    before = asyncio.run(count_events(target))
    go = multiprocessing.Event()
    out: multiprocessing.Queue[int] = multiprocessing.Queue()
    clients = []
    for _ in range(args.clients):
        ready = multiprocessing.Event()
        batches = args.batches // args.clients
        work = (target.ingest_url + "/v1/events", batches, args.batch_size, args.concurrency)
        client = multiprocessing.Process(target=client_process, args=(*work, ready, go, out))
        client.start()
        clients.append((client, ready))
    for _, ready in clients:
        ready.wait()
    started = time.perf_counter()
    go.set()
    accepted = sum(out.get() for _ in clients)
    acked = time.perf_counter() - started
    for client, _ in clients:
        client.join()
    while asyncio.run(count_events(target)) - before < accepted:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    print(
        f"  {accepted} events acknowledged in {acked:.2f}s, "
        f"queryable after {elapsed:.2f}s: {accepted / elapsed:,.0f} events/s"
    )
    return accepted / elapsed


def total_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total / 1e6


def start_embedded_target(tmp: Path) -> tuple[Target, list[ServerProcess]]:
    server = start_embedded(tmp / "data")
    return Target(server.ingest_url, query_url=server.query_url), [server]


def start_distributed_target(
    tmp: Path, args: argparse.Namespace, dsn: str
) -> tuple[Target, list[ServerProcess]]:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "DATABASE_URL": dsn,
        "NATS_URL": args.nats_url,
        "NATS_TOPIC": f"agentmon.bench.{suffix}",
        "AGENTMON_NATS_STREAM": f"AGENTMON_BENCH_{suffix}",
        "AGENTMON_LOG_LEVEL": "warning",
    }
    subprocess.run(
        [sys.executable, "-m", "agentmon", "migrate"], env={**os.environ, **env}, check=True
    )
    port = free_port()
    gateway_args = ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""]
    servers = [start_agentmon(gateway_args, {"ingest": port}, tmp / "gateway.log", env)]
    for index in range(args.processors):
        metrics = free_port()
        processor_args = ["event-processor", "--metrics-addr", f"127.0.0.1:{metrics}"]
        log = tmp / f"processor{index}.log"
        servers.append(start_agentmon(processor_args, {"metrics": metrics}, log, env, health=[]))
    return Target(servers[0].ingest_url, dsn=dsn), servers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--processors", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-bench-"))
    database = f"agentmon_bench_{uuid.uuid4().hex[:8]}" if args.mode == "distributed" else None
    servers: list[ServerProcess] = []
    try:
        if database:
            admin_sql(args.pg, f'CREATE DATABASE "{database}"')
            target, servers = start_distributed_target(tmp, args, f"{args.pg}/{database}")
        else:
            target, servers = start_embedded_target(tmp)
        print(
            f"{args.mode}: {args.rounds} rounds of {args.batches} batches x {args.batch_size} "
            f"events, {args.clients} client process(es) x {args.concurrency} connections"
        )
        rates = []
        for _ in range(args.rounds):
            rates.append(run_round(target, args))
            print(f"  server RSS: {total_rss_mb([s.process.pid for s in servers]):.0f} MB")
        median = statistics.median(rates)
        print(f"median: {median:,.0f} events/s acknowledged and queryable ({args.mode})")
    finally:
        for server in servers:
            server.stop()
        if database:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
