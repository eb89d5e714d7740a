"""`GET /v1/agents` latency with 1,000 agents (PostgreSQL or SQLite).

    .venv/bin/python bench/bench_agents.py                   # PostgreSQL, a fresh database
    .venv/bin/python bench/bench_agents.py --store sqlite --agents 1000

Seeding goes through the real write path (`Store.write`): each agent has `--sessions`
sessions over the last 24 hours (runs with tool calls, usage and an error now and then), the
latest one in a state of its own: working, waiting with a question, stuck, looping, lost (its
VM shut off or silent), idle or ended; every fourth agent runs on a monitored VM (PostgreSQL:
then VACUUM ANALYZE, as autovacuum would within a minute; `--no-analyze` asks before). A real
`agentmon query-api` (or `serve` for SQLite) then answers the default page of /v1/agents (100
agents) and `?limit=1000` (every agent) many times each over HTTP; p50/p95 and the server's CPU
(and PostgreSQL's) per request are printed for each, then where the time goes in-process:
`agents.roster()` and building plus encoding the answer, each alone, for both.

    .venv/bin/python bench/bench_agents.py --keep            # prints the seeded target
    .venv/bin/python bench/bench_agents.py --reuse agentmon_bench_agents_1234abcd
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec
from bench.bench_queries import serve_query_api
from tests.conftest import admin_sql, free_port

from agentmon.events import Envelope, new_event
from agentmon.query import views
from agentmon.store.agents import roster
from agentmon.store.base import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore

FRAMEWORKS = ("claude-code", "codex", "openclaw", "gemini-cli", "hermes")
LATEST = ("working", "waiting", "stuck", "looping", "lost", "idle", "ended")
BATCH = 5000


def agent_events(index: int, sessions: int, now: datetime, rng: random.Random) -> list[Envelope]:
    host = f"agent-{index:04d}"
    common: dict[str, Any] = {"framework": FRAMEWORKS[index % 5], "host": host, "client_id": host}
    events: list[Envelope] = []
    for n in range(sessions):
        latest = n == sessions - 1
        kind = LATEST[index % len(LATEST)] if latest else "ended"
        start = now - timedelta(seconds=60) if latest else now - timedelta(hours=rng.uniform(1, 23))
        if kind in ("stuck", "idle"):
            start = now - timedelta(minutes=15 if kind == "stuck" else 45)
        events += session(f"{host}-s{n}", kind, start, common)
    if index % 4 == 0 or LATEST[index % len(LATEST)] == "lost":
        state = "shutoff" if LATEST[index % len(LATEST)] == "lost" else "running"
        events.append(
            new_event(
                "openclaw.snapshot",
                framework="openclaw",
                client_id=host,
                host=host,
                ts=now - timedelta(seconds=20),
                payload={"instance": host, "state": state, "cpu_pct": 12.0, "issues": []},
            )
        )
    return events


def session(sid: str, kind: str, start: datetime, common: dict[str, Any]) -> list[Envelope]:
    clock = start
    events = [new_event("session.start", session_id=sid, ts=clock, **common)]
    run = f"{sid}-r"
    events.append(
        new_event(
            "run.start", session_id=sid, run_id=run, ts=clock, payload={"input": "fix it"}, **common
        )
    )
    for call in range(6 if kind == "looping" else 4):
        clock += timedelta(seconds=1)
        same = kind == "looping"
        events.append(
            new_event(
                "span.end",
                session_id=sid,
                run_id=run,
                span_id=f"{run}-t{call}",
                ts=clock,
                payload={
                    "kind": "tool",
                    "name": "Bash",
                    "status": "ok",
                    "duration_ms": 300,
                    "input": {"command": "npm test" if same else f"step {call}"},
                },
                **common,
            )
        )
    events.append(
        new_event(
            "metric.snapshot",
            session_id=sid,
            run_id=run,
            ts=clock,
            payload={"usage": {"input": 900, "output": 120}, "cost_usd": 0.004},
            **common,
        )
    )
    if kind == "waiting":
        ask = {"agent_state": "waiting_for_human", "message": "Allow Bash: rm -rf build/ ?"}
        events.append(new_event("metric.snapshot", session_id=sid, ts=clock, payload=ask, **common))
    if kind in ("ended", "idle"):
        clock += timedelta(seconds=1)
        events.append(
            new_event(
                "run.end", session_id=sid, run_id=run, ts=clock, payload={"status": "ok"}, **common
            )
        )
    if kind == "ended":
        events.append(new_event("session.end", session_id=sid, ts=clock, **common))
    return events


async def seed(kind: str, target: str, agents: int, sessions: int, analyze: bool) -> int:
    store = open_store(kind, target)
    await store.open()
    rng, now, written = random.Random(7), datetime.now(UTC), 0
    started = time.perf_counter()
    pending: list[Envelope] = []
    try:
        for index in range(agents):
            pending += agent_events(index, sessions, now, rng)
            if len(pending) >= BATCH or index == agents - 1:
                await store.write(pending)
                written, pending = written + len(pending), []
    finally:
        await store.close()
    print(f"seeded {agents:,} agents, {written:,} events in {time.perf_counter() - started:.1f}s")
    if kind == "postgres" and analyze:
        # as autovacuum would within a minute of such a write: the plans of a store that runs
        conn = await asyncpg.connect(target)
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    return written


def open_store(kind: str, target: str) -> Store:
    return PostgresStore(target) if kind == "postgres" else SQLiteStore(Path(target))


# the default page and every agent at once
PATHS = ("/v1/agents", "/v1/agents?limit=1000")
PAGE_LIMITS = (100, 1000)


def measure(
    base: str, rounds: int, pid: int, path: str, database: str | None
) -> tuple[list[float], float, float | None]:
    """Each request's wall time (ms), and per request the server process's CPU time and, on
    PostgreSQL (`database`: its DSN), the CPU time of the backends serving that database (ms):
    the figures a loaded, shared machine disturbs least."""
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        first = client.get(path).raise_for_status().json()
        if "agents" in first:
            total = first.get("total", len(first["agents"]))
            print(f"  {path}: {len(first['agents'])} of {total} agents; states {first['counts']}")
        cpu_before = process_cpu_ms(pid)
        backends_before = backends_cpu_ms(database)
        for _ in range(rounds):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        cpu = (process_cpu_ms(pid) - cpu_before) / rounds
        backends_after = backends_cpu_ms(database)
    backends = None
    if backends_before is not None and backends_after is not None:
        backends = (backends_after - backends_before) / rounds
    return times, cpu, backends


def process_cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def backends_cpu_ms(database: str | None) -> float | None:
    """The CPU time so far of the PostgreSQL backends connected to the benchmark's database
    (the server must run on this machine; None where it does not, or on SQLite)."""
    if database is None:
        return None

    async def pids() -> list[int]:
        base, name = database.rsplit("/", 1)
        conn = await asyncpg.connect(f"{base}/postgres")
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
        finally:
            await conn.close()
        return [row["pid"] for row in rows]

    total = 0.0
    for pid in asyncio.run(pids()):
        try:
            total += process_cpu_ms(pid)
        except (FileNotFoundError, PermissionError):
            return None
    return total


async def breakdown(kind: str, target: str, rounds: int) -> None:
    """Medians of the store's queries and of building + encoding the answer, in-process."""
    store = open_store(kind, target)
    await store.open()
    try:
        for limit in PAGE_LIMITS:
            queries, building = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                found = await roster(store, "24h", limit=limit)
                queries.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                msgspec.json.encode(views.agents_view("24h", found))
                building.append((time.perf_counter() - started) * 1000)
            print(
                f"{kind}: limit {limit}, in-process, median of {rounds}: agents.roster() "
                f"{statistics.median(queries):.1f} ms, "
                f"view + encode {statistics.median(building):.1f} ms"
            )
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=3, help="sessions per agent")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--path",
        action="append",
        help="what to ask instead, repeatable (e.g. /v1/attention, /v1/agents/timeline?hours=6)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded store")
    parser.add_argument("--reuse", help="a kept store (database name or SQLite file) to ask")
    parser.add_argument("--breakdown-rounds", type=int, default=20)
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: ask right after seeding, before the tables' statistics exist "
        "(by default the seeded database is VACUUM ANALYZEd first, as autovacuum would)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-bench-agents-"))
    created = None
    if args.store == "postgres":
        created = args.reuse or f"agentmon_bench_agents_{uuid.uuid4().hex[:8]}"
        target = f"{args.pg}/{created}"
    else:
        target = args.reuse or str(tmp / "data" / "agentmon.db")
    try:
        if not args.reuse:
            if args.store == "postgres":
                admin_sql(args.pg, f'CREATE DATABASE "{created}"')
            else:
                Path(target).parent.mkdir(parents=True)
            asyncio.run(seed(args.store, target, args.agents, args.sessions, args.analyze))
        if args.keep:
            print(f"kept: --reuse {created or target}")
        port = free_port()
        server = serve_query_api(args.store, target, port, tmp)
        try:
            for path in args.path or PATHS:
                base = f"http://127.0.0.1:{port}"
                database = target if args.store == "postgres" else None
                times, cpu, backends = measure(
                    base, args.rounds, server.process.pid, path, database
                )
                p95 = sorted(times)[int(0.95 * (len(times) - 1))]
                in_pg = "" if backends is None else f", PostgreSQL CPU {backends:.1f} ms"
                print(
                    f"{args.store}: GET {path} ({args.rounds} requests) "
                    f"p50 {statistics.median(times):.1f} ms  p95 {p95:.1f} ms  "
                    f"server CPU {cpu:.1f} ms{in_pg} per request"
                )
        finally:
            server.stop()
        if args.breakdown_rounds:
            asyncio.run(breakdown(args.store, target, args.breakdown_rounds))
    finally:
        if created and not args.keep:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        if not args.keep:  # the seeded SQLite file and the server's log
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
