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
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentmon.events import new_event  # noqa: E402
from tests.conftest import free_port, start_agentmon  # noqa: E402

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
                body = queue.get_nowait()
                while True:
                    response = await client.post(
                        url, content=body, headers={"content-type": "application/json"}
                    )
                    if response.status_code == 503:
                        await asyncio.sleep(0.05)
                        continue
                    response.raise_for_status()
                    accepted += response.json()["accepted"]
                    break

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted


def client_process(url: str, batches: int, size: int, concurrency: int, out: str) -> None:
    bodies = make_bodies(batches, size)
    Path(out + ".ready").write_text("")
    while not Path(out + ".go").exists():
        time.sleep(0.001)
    accepted = asyncio.run(post_all(url, bodies, concurrency))
    Path(out).write_text(str(accepted))


async def count_events(query_url: str | None, dsn: str | None) -> int:
    if dsn:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval("SELECT coalesce(sum(events), 0) FROM rollup_minute"))
        finally:
            await conn.close()
    async with httpx.AsyncClient() as client:
        summary = (await client.get(f"{query_url}/v1/stats/summary")).json()
        return int(summary["events"])


def run_round(
    ingest_url: str,
    query_url: str | None,
    dsn: str | None,
    batches: int,
    size: int,
    concurrency: int,
    clients: int,
) -> tuple[float, int]:
    before = asyncio.run(count_events(query_url, dsn))
    work = tempfile.mkdtemp()
    procs = []
    for i in range(clients):
        out = f"{work}/c{i}"
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_ingest as b; b.client_process({ingest_url + '/v1/events'!r}, {batches // clients}, {size}, {concurrency}, {out!r})"
        procs.append((subprocess.Popen([sys.executable, "-c", code]), out))
    while not all(Path(out + ".ready").exists() for _, out in procs):
        time.sleep(0.01)
    started = time.perf_counter()
    for _, out in procs:
        Path(out + ".go").write_text("")
    for proc, _ in procs:
        proc.wait()
    accepted = sum(int(Path(out).read_text()) for _, out in procs)
    acked = time.perf_counter() - started
    while asyncio.run(count_events(query_url, dsn)) - before < accepted:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    print(
        f"  {accepted} events acknowledged in {acked:.2f}s, queryable after {elapsed:.2f}s: {accepted / elapsed:,.0f} events/s"
    )
    return accepted / elapsed, accepted


def peak_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


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
    servers = []
    dsn = None
    try:
        if args.mode == "embedded":
            from tests.conftest import start_embedded

            server = start_embedded(tmp / "data")
            servers.append(server)
            ingest_url, query_url = server.ingest_url, server.query_url
        else:
            name = f"agentmon_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_admin(args.pg, f'CREATE DATABASE "{name}"'))
            dsn = f"{args.pg}/{name}"
            suffix = uuid.uuid4().hex[:8]
            env = {
                "DATABASE_URL": dsn,
                "NATS_URL": args.nats_url,
                "NATS_TOPIC": f"agentmon.bench.{suffix}",
                "AGENTMON_NATS_STREAM": f"AGENTMON_BENCH_{suffix}",
                "AGENTMON_LOG_LEVEL": "warning",
            }
            port = free_port()
            gateway = start_agentmon(
                ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""],
                {"ingest": port},
                tmp / "gw.log",
                env,
            )
            servers.append(gateway)
            for i in range(args.processors):
                metrics = free_port()
                servers.append(
                    start_agentmon(
                        ["event-processor", "--metrics-addr", f"127.0.0.1:{metrics}"],
                        {"metrics": metrics},
                        tmp / f"p{i}.log",
                        env,
                        health=[],
                    )
                )
            ingest_url, query_url = gateway.ingest_url, None
            time.sleep(2)
        print(
            f"{args.mode}: {args.rounds} rounds of {args.batches} batches x {args.batch_size} events, concurrency {args.concurrency}"
        )
        rates = []
        for _ in range(args.rounds):
            rate, _ = run_round(
                ingest_url,
                query_url,
                dsn,
                args.batches,
                args.batch_size,
                args.concurrency,
                args.clients,
            )
            rates.append(rate)
            print(f"  server RSS: {peak_rss_mb([s.process.pid for s in servers]):.0f} MB")
        print(
            f"median: {statistics.median(rates):,.0f} events/s acknowledged and queryable ({args.mode})"
        )
    finally:
        for server in servers:
            server.stop()
        if dsn:
            asyncio.run(
                _admin(args.pg, f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
            )


async def _admin(base: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
