"""End-to-end ingest: events/s acknowledged AND queryable, batches of 100 over HTTP.

    .venv/bin/python bench/bench_ingest.py --mode embedded
    .venv/bin/python bench/bench_ingest.py --mode distributed --processors 2
    .venv/bin/python bench/bench_ingest.py --redact compare   # secret redaction's cost
    .venv/bin/python bench/bench_ingest.py --redactor-only    # µs per event, no server
    .venv/bin/python bench/bench_ingest.py --stages           # CPU µs per event, per stage
    .venv/bin/python bench/bench_ingest.py --stages --gc default  # ... with default GC
    .venv/bin/python bench/bench_ingest.py --stages --store postgres  # ... a processor's store

Starts the real services as subprocesses (embedded: `agentmon serve`; distributed:
`ingest-gateway` + N `event-processor` against local NATS and a fresh PostgreSQL database),
posts pre-encoded batches from a separate client process with keep-alive connections, and
stops the clock when the store's own count (read through the query API's summary) reaches
the number of acknowledged events. Prints each round and the median.

Each round also inserts the same number of rows of the same shape raw into a scratch copy of
the same store (`bench/raw_insert.py`: SQLite executemany, PostgreSQL binary COPY) and prints
end-to-end / raw: the share of the store's own insert rate the whole pipeline reaches.

`--redact compare` starts one server with redaction on and one with it off
(`AGENTMON_REDACT`), alternates their rounds (so load from elsewhere on the machine falls on
both alike) and prints both medians and their ratio, and the servers' CPU time per event
(steadier than events/s on a shared machine). `--redactor-only` times the redactor
alone on the same events, a tool event with 2 KB of output and one carrying secrets.
`--stages` runs the server's stages in this process on the benchmark's batches, without HTTP
or a bus, and prints the CPU time each takes per event (CPU time, not wall time: other load
on the machine barely moves it): where the time goes, stage by stage. With `--store postgres`
the store write goes to a fresh PostgreSQL database (`--pg`), as a processor's does; its CPU
is then only this process's share (the server's is not counted), so its wall time per event
is printed too, round trips and all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import nats.js.errors
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu_budget, store_floor
from bench.raw_insert import PostgresRaw, SQLiteRaw
from tests.conftest import ServerProcess, admin_sql, free_port, start_agentmon, start_embedded

from agentmon.events import Envelope, new_event
from agentmon.ingest.batch import parse_batch
from agentmon.redaction import build_redactor
from agentmon.runtime import settle_garbage_collection
from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.projection import project
from agentmon.store.sqlite import SQLiteStore

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
    started = time.process_time()
    accepted = asyncio.run(post_all(url, bodies, concurrency))
    out.put((accepted, time.process_time() - started))


@dataclass
class Target:
    ingest_url: str
    query_url: str | None = None
    dsn: str | None = None
    nats_url: str | None = None
    stream: str | None = None  # distributed mode's own JetStream stream, deleted afterwards


def delete_stream(target: Target) -> None:
    """Delete the run's JetStream stream: a run leaves hundreds of MB in it."""
    if target.nats_url is None or target.stream is None:
        return
    stream, servers = target.stream, target.nats_url.split(",")

    async def run() -> None:
        client = await nats.connect(servers=servers)
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await client.jetstream().delete_stream(stream)
        finally:
            await client.close()

    asyncio.run(run())


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


@dataclass
class Round:
    rate: float  # events/s acknowledged and queryable
    client_cpu_s: float  # the load generators' CPU while posting


def run_round(target: Target, args: argparse.Namespace) -> Round:
    before = asyncio.run(count_events(target))
    go = multiprocessing.Event()
    out: multiprocessing.Queue[tuple[int, float]] = multiprocessing.Queue()
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
    answers = [out.get() for _ in clients]
    accepted = sum(count for count, _ in answers)
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
    return Round(accepted / elapsed, sum(cpu for _, cpu in answers))


class Helpers:
    """The processes besides agentmon's that work for a distributed round, all local: the
    database's backends and the NATS server. Backends a pool opens during the round count
    from their start, those open before from the round's start."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.before = self.cpu_by_pid()

    def cpu_by_pid(self) -> dict[str, dict[int, float]]:
        if self.target.dsn is None:
            return {}
        nats_servers = [
            p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "nats-server"
        ]
        pids = {"PostgreSQL": asyncio.run(self.backends()), "NATS": nats_servers}
        return {name: {pid: cpu_seconds([pid]) for pid in ids} for name, ids in pids.items()}

    async def backends(self) -> list[int]:
        assert self.target.dsn is not None
        conn = await asyncpg.connect(self.target.dsn)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return [row["pid"] for row in rows]
        finally:
            await conn.close()

    def used_since(self) -> dict[str, float]:
        return {
            name: sum(cpu - self.before[name].get(pid, 0.0) for pid, cpu in now.items())
            for name, now in self.cpu_by_pid().items()
        }


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the server processes used so far: unlike events/s, barely moved by load
    from elsewhere on the machine."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def total_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total / 1e6


def start_embedded_target(tmp: Path, env: dict[str, str]) -> tuple[Target, list[ServerProcess]]:
    server = start_embedded(tmp / "data", env=env)
    return Target(server.ingest_url, query_url=server.query_url), [server]


def start_distributed_target(
    tmp: Path, args: argparse.Namespace, dsn: str, redact: dict[str, str]
) -> tuple[Target, list[ServerProcess]]:
    suffix = uuid.uuid4().hex[:8]
    env = {
        **redact,
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
    target = Target(
        servers[0].ingest_url, dsn=dsn, nats_url=args.nats_url, stream=env["AGENTMON_NATS_STREAM"]
    )
    return target, servers


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
    parser.add_argument(
        "--redact",
        choices=["on", "off", "compare"],
        default="on",
        help="secret redaction in the server (AGENTMON_REDACT), or both to compare (default: on)",
    )
    parser.add_argument(
        "--redactor-only", action="store_true", help="time the redactor alone, in µs per event"
    )
    parser.add_argument(
        "--stages", action="store_true", help="CPU µs per event of each stage, in this process"
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="--stages: the store written to (default: sqlite, as the embedded server)",
    )
    parser.add_argument(
        "--gc",
        choices=["default", "server"],
        default="server",
        help="--stages: Python's default garbage collection or the servers' (default: server)",
    )
    args = parser.parse_args()
    if args.redactor_only:
        bench_redactor(args)
        return
    if args.stages:
        asyncio.run(bench_stages(args))
        return
    settings = ["on", "off"] if args.redact == "compare" else [args.redact]
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-bench-"))
    databases: list[str] = []
    targets: dict[str, tuple[Target, list[ServerProcess]]] = {}
    raw = PostgresRaw(args.pg) if args.mode == "distributed" else SQLiteRaw(tmp / "raw.db")
    decoder = msgspec.json.Decoder(list[Envelope])
    try:
        for setting in settings:
            env, where = {"AGENTMON_REDACT": setting}, tmp / setting
            where.mkdir()
            if args.mode == "distributed":
                databases.append(f"agentmon_bench_{uuid.uuid4().hex[:8]}")
                admin_sql(args.pg, f'CREATE DATABASE "{databases[-1]}"')
                dsn = f"{args.pg}/{databases[-1]}"
                targets[setting] = start_distributed_target(where, args, dsn, env)
            else:
                targets[setting] = start_embedded_target(where, env)
        print(
            f"{args.mode}: {args.rounds} rounds of {args.batches} batches x {args.batch_size} "
            f"events, {args.clients} client process(es) x {args.concurrency} connections"
        )
        rates: dict[str, list[float]] = {setting: [] for setting in settings}
        cpu: dict[str, list[float]] = {setting: [] for setting in settings}
        budgets: dict[str, list[float]] = {setting: [] for setting in settings}
        ratios: list[float] = []
        events = args.batches * args.batch_size
        for _ in range(args.rounds):
            for setting, (target, servers) in targets.items():
                print(f" redaction {setting}:")
                pids = [s.process.pid for s in servers]
                helpers = Helpers(target)
                used = cpu_seconds(pids)
                result = run_round(target, args)
                rates[setting].append(result.rate)
                cpu[setting].append((cpu_seconds(pids) - used) / events)
                shares = {"server": cpu[setting][-1], "client": result.client_cpu_s / events}
                for name, seconds in helpers.used_since().items():
                    shares[name] = seconds / events
                budgets[setting].append(sum(shares.values()))
                print("  CPU: " + cpu_budget.describe(shares))
                print(f"  server RSS: {total_rss_mb(pids):.0f} MB")
            bodies = make_bodies(args.batches, args.batch_size)
            raw_rate = raw.rate([event for body in bodies for event in decoder.decode(body)])
            ratios.append(rates[settings[0]][-1] / raw_rate)
            print(f" raw insert of the same rows: {raw_rate:,.0f} rows/s; ratio {ratios[-1]:.2f}")
        medians = {setting: statistics.median(rates[setting]) for setting in settings}
        for setting, median in medians.items():
            per_event = statistics.median(cpu[setting]) * 1e6
            print(
                f"median: {median:,.0f} events/s acknowledged and queryable, server CPU "
                f"{per_event:.0f} µs per event ({args.mode}, redaction {setting})"
            )
        print(
            f"median ratio to the raw insert rate ({settings[0]}): {statistics.median(ratios):.2f}"
        )
        for setting, values in budgets.items():
            budget = statistics.median(values)
            print(
                f"median CPU per event, every process of the run (redaction {setting}): "
                f"{budget * 1e6:.0f} µs: {cpu_budget.ceiling(budget)}"
            )
        if len(medians) == 2:
            ratio = medians["on"] / medians["off"]
            cpu_ratio = statistics.median(cpu["on"]) / statistics.median(cpu["off"])
            print(f"redaction on / off: events/s {ratio:.3f}, server CPU per event {cpu_ratio:.3f}")
    finally:
        for target, servers in targets.values():
            for server in servers:
                server.stop()
            delete_stream(target)
        for database in databases:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        raw.close()


def bench_redactor(args: argparse.Namespace) -> None:
    """µs per event of the redactor alone, median of rounds, on three kinds of event."""
    redactor = build_redactor()
    decoder = msgspec.json.Decoder(list[Envelope])
    typical = [
        e for b in make_bodies(args.batches // 10, args.batch_size) for e in decoder.decode(b)
    ]
    listing = "-rw-r--r--  1 ada ada  220 Dec  4 10:00 README.md\n" * 40
    tool = {"kind": "tool", "name": "Bash", "input": {"command": "ls -la"}, "output": listing}
    secrets = {
        "kind": "tool",
        "name": "Bash",
        "input": {"command": "curl -H 'Authorization: Bearer 8f2k4Lq9Zt7Xw3Pm' https://x"},
        "output": "export DATABASE_URL=postgresql://app:S3cr3tPassw0rd@db:5432/app",
    }
    kinds: list[tuple[str, Callable[[], list[Envelope]]]] = [
        (f"the benchmark's mix ({len(typical)} events)", lambda: typical),
        (f"a tool event with {len(listing)} bytes of output", lambda: copies(tool, 1000)),
        ("a tool event carrying two secrets", lambda: copies(secrets, 1000)),
    ]
    for name, make in kinds:
        timings = []
        for _ in range(max(args.rounds, 5)):
            events = make()
            started = time.perf_counter()
            for envelope in events:
                redactor.envelope(envelope)
            timings.append((time.perf_counter() - started) / len(events) * 1e6)
        print(f"redactor, {name}: median {statistics.median(timings):.1f} µs per event")


async def bench_stages(args: argparse.Namespace) -> None:
    """CPU µs per event of each stage the embedded server runs, median of rounds; the store
    write (dedupe, insert, projection, read models, search index, commit) on fresh events
    into one SQLite file (or a fresh PostgreSQL database, `--store postgres`), group commits
    of `--batch-size` x 10 events. Then the store's floor (`bench/store_floor.py`): one more
    round's store writes recorded, and their statements replayed into a twin store that
    received every earlier round too (so both hold the same rows)."""
    redactor = build_redactor()
    if args.gc == "server":
        settle_garbage_collection()
    print(f"garbage collection: {args.gc}, thresholds {gc.get_threshold()}")
    group = args.batch_size * 10
    async with stage_store(args) as store, stage_store(args) as twin:
        timings: dict[str, list[float]] = {}
        walls: list[float] = []
        for _ in range(max(args.rounds, 5)):
            bodies = make_bodies(args.batches // 5, args.batch_size)
            count = len(bodies) * args.batch_size
            events = cpu_timed(timings, "decode + validate", count, partial(parse_all, bodies))
            cpu_timed(timings, "redaction", count, partial(redact_all, redactor, events))
            cpu_timed(timings, "  projection alone", count, partial(project_all, events, group))
            started, wall = time.process_time(), time.perf_counter()
            for chunk in store_floor.groups_of(events, group):
                await store.write(chunk)
            timings.setdefault(f"store write ({args.store})", []).append(
                (time.process_time() - started) / count
            )
            walls.append((time.perf_counter() - wall) / count)
            for chunk in store_floor.groups_of(events, group):
                await twin.write(chunk)
        events = parse_all(make_bodies(args.batches // 5, args.batch_size))
        floor = await store_floor.measure(store, twin, list(store_floor.groups_of(events, group)))
    for stage, values in timings.items():
        print(f"{stage:26s} {statistics.median(values) * 1e6:6.2f} µs per event (CPU)")
    wall_median = statistics.median(walls)
    print(
        f"{'store write, wall':26s} {wall_median * 1e6:6.2f} µs per event "
        f"({1 / wall_median:,.0f} events/s; load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'floor: statements alone':26s} {floor.describe()}")


@contextlib.asynccontextmanager
async def stage_store(args: argparse.Namespace) -> AsyncIterator[Store]:
    """A fresh store of `--store`'s kind, dropped afterwards."""
    store: Store
    if args.store == "postgres":
        database = f"agentmon_stages_{uuid.uuid4().hex[:8]}"
        admin_sql(args.pg, f'CREATE DATABASE "{database}"')
        store = PostgresStore(f"{args.pg}/{database}")
    else:
        scratch = Path(tempfile.mkdtemp(prefix="agentmon-stages-"))
        store = SQLiteStore(scratch / "stages.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if args.store == "postgres":
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def cpu_timed(timings: dict[str, list[float]], stage: str, count: int, work: Any) -> Any:
    """`work()`, its CPU time per event added to `stage`'s (this thread's only: the store's
    own threads work only inside `store.write`, timed with the process's CPU time)."""
    started = time.thread_time()
    result = work()
    timings.setdefault(stage, []).append((time.thread_time() - started) / count)
    return result


def parse_all(bodies: list[bytes]) -> list[Envelope]:
    return [event for body in bodies for event in parse_batch(body).events]


def redact_all(redactor: Any, events: list[Envelope]) -> None:
    for event in events:
        redactor.envelope(event)


def project_all(events: list[Envelope], group: int) -> None:
    for chunk in store_floor.groups_of(events, group):
        project(chunk)


def copies(payload: dict[str, Any], count: int) -> list[Envelope]:
    return [
        new_event(
            "span.end", framework="bench", payload=msgspec.json.decode(msgspec.json.encode(payload))
        )
        for _ in range(count)
    ]


if __name__ == "__main__":
    main()
