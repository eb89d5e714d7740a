"""`GET /v1/search` latency over a large PostgreSQL store.

    .venv/bin/python bench/bench_search.py                      # 10M events' worth, fresh DB
    .venv/bin/python bench/bench_search.py --events 1000000 --keep
    .venv/bin/python bench/bench_search.py --reuse postgresql://…/agentmon_bench_search_x
    .venv/bin/python bench/bench_search.py --store sqlite --reuse postgresql://…/x --every 10
    .venv/bin/python bench/bench_search.py --write [--store sqlite]   # the index's write cost

The search documents are seeded server-side (generate_series, straight into `search_docs`, in
the shape the write path gives `--events` events: ~78 a session, 4 runs each with a prompt and
an answer, 5 tool calls a run, `--outputs` of them with output text, an error now and then,
over the last 7 days). The text mixes commands, paths, a few real words and 5,000 synthetic
words, so queries range from rare (`rm -rf`, `config/prod.yaml`) through mid-frequency to
very common (`pytest`). The events table itself is not seeded: search never reads it.

A real `agentmon query-api` then answers a mix of queries (with and without filters) over
HTTP many times; p50/p95 per query and overall are printed. `--reuse` migrates the database
first (so a new index migration is built on the kept data) and `--explain` prints each query's
plans.

`--store sqlite` copies every `--every`th document of a database this benchmark seeded into a
fresh SQLite store (indexed as the write path indexes a batch) and measures `agentmon serve`'s
`/v1/search` on it the same way.

`--write` times `Store.write` on the events of bench_queries' sessions (78 events a session,
batches of 1,000) into fresh stores with the search index on (`AGENTMON_SEARCH_MAX_CHARS`
8192) and off (0), rounds alternating so the machine's other load falls on both alike, and
prints the CPU per event (this process and, on PostgreSQL, its server backends) and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_queries import open_store, serve_query_api, session_events
from tests.conftest import admin_sql, free_port

from agentmon.events import Envelope
from agentmon.store.search import DEFAULT_MAX_CHARS, SearchFilters, parse_query, search

if TYPE_CHECKING:
    from agentmon.store.queries import Queries

# synthetic word n of 5,000 (computed, not looked up: an array of them is slow to index)
WORD = "substr(md5((({0}) % 5000)::text), 1, 5 + ({0}) % 4)"

SEED_TEMPLATE = r"""
CREATE TEMP TABLE runs_seed AS
  SELECT r, (extract(epoch FROM now()) * 1000)::bigint - ((r::bigint * 7919) % 604800) * 1000 AS t,
         's' || (r / 4) AS session_id, 's' || (r / 4) || 'r' || (r % 4) AS run_id,
         (ARRAY['claude-code','codex','openclaw','gemini-cli','hermes'])[1 + (r / 4) % 5]
           AS framework,
         'host-' || ((r / 4) % 40) AS host
  FROM generate_series(0, :runs - 1) AS r;
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
SELECT 'run:' || run_id || ':prompt', 'prompt', t, session_id, run_id, framework, host,
       (ARRAY['Fix the failing test in module_', 'Refactor the billing service, part ',
              'Why does the deploy fail on node ', 'Add retries to the HTTP client for case ',
              'Update the changelog for release 2.', 'Migrate the CI job number '])[1 + r % 6]
       || (r % 997) || ' ' || {W:(r * 31)} || ' ' || {W:(r * 57)}
FROM runs_seed;
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, framework, host, text)
SELECT 'run:' || run_id || ':answer', 'answer', t + 120000, session_id, run_id, framework, host,
       'Done. ' || (ARRAY['All tests pass now.', 'The service retries three times.',
                          'The deploy works again after the config change.',
                          'I could not finish: permission denied on the target host.'])[1 + r % 4]
       || ' ' || {W:(r * 71)}
FROM runs_seed;
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool,
                         text)
SELECT 'span:' || run_id || 't' || k || ':call', 'tool', t + k * 5000, session_id, run_id,
       run_id || 't' || k, framework, host, tool,
       tool || E'\n' || CASE
         WHEN (r * 5 + k) % 1000 = 0 THEN 'rm -rf build/'
         WHEN (r * 5 + k) % 997 = 0 THEN 'cat config/prod.yaml'
         WHEN tool = 'Bash' THEN (ARRAY['pytest -q tests/test_', 'npm run build --workspace pkg',
                                       'git diff HEAD~', 'ls -la src/pkg',
                                       'make -j4 target'])[1 + r % 5]
                                 || (r % 300)
         ELSE 'src/' || {W:(r * 13 + k)} || '/' || {W:(r * 17 + k)} || '.py'
       END
FROM (SELECT runs_seed.*, k, (ARRAY['Bash','Read','Edit','Grep','exec'])[1 + (r + k) % 5] AS tool
      FROM runs_seed, generate_series(0, 4) AS k) AS calls;
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool,
                         text)
SELECT 'span:' || run_id || 't' || k || ':output', 'tool', t + k * 5000 + 1200, session_id, run_id,
       run_id || 't' || k, framework, host, 'Bash',
       (ARRAY['PASSED ', 'ok ', 'compiled ', 'error: ', 'warning: '])[1 + (r + k) % 5]
       || {W:(r * 3 + k)} || ' ' || {W:(r * 7 + k)} || ' '
       || {W:(r * 11 + k)} || E'\n' || {W:(r * 19 + k)} || ' '
       || {W:(r * 23 + k)} || ' ' || {W:(r * 29 + k)} || ' '
       || repeat('line of ordinary tool output ', 6) || {W:(r * 37 + k)}
FROM runs_seed, generate_series(0, 4) AS k
WHERE (r * 5 + k) < :outputs;
INSERT INTO search_docs (doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool,
                         text)
SELECT 'span:' || run_id || 't2:error', 'error', t + 11200, session_id, run_id, run_id || 't2',
       framework, host, 'Bash',
       (ARRAY['cat: /etc/shadow: Permission denied', 'exit code 1', 'timeout after 120s',
              'File does not exist.',
              'ECONNRESET while fetching https://registry.example'])[1 + r % 5]
FROM runs_seed WHERE r % 23 = 0;
ANALYZE search_docs;
"""
SEED = re.sub(r"\{W:(\(.*?\))\}", lambda m: WORD.format(m.group(1)), SEED_TEMPLATE)

QUERIES: list[tuple[str, dict[str, str]]] = [
    ("rm -rf", {}),
    ("config/prod.yaml", {}),
    ('"permission denied"', {}),
    ("permission denied", {"kind": "error"}),
    ("pytest", {}),
    ("pytest -q", {"framework": "codex"}),
    ("timeout", {"host": "host-7"}),
    ("deploy", {"kind": "prompt"}),
    ("ordinary tool output", {}),
    ("retries", {"kind": "answer"}),
    ("pytest", {"host": "host-7"}),  # a common word, a selective filter
    ("nowhere-to-be-found", {}),
    ("bash", {"session_id": "s4321"}),
]


def migrate(dsn: str) -> float:
    """The real schema (migrations not yet applied to a kept database too); seconds taken."""
    started = time.monotonic()
    store = open_store("postgres", dsn)

    async def run() -> None:
        await store.open()
        await store.close()

    asyncio.run(run())
    return time.monotonic() - started


def seed(dsn: str, events: int, outputs: int) -> float:
    """Migrate, then seed; seconds taken."""
    migrate(dsn)
    started = time.monotonic()
    runs = events // 78 * 4
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"runs={runs}", "-v", f"outputs={outputs}",
         dsn],
        input=SEED,
        text=True,
        check=True,
    )  # fmt: skip
    return time.monotonic() - started


def measure(base: str, rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    times: dict[str, list[float]] = {}
    hits: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for q, filters in QUERIES:  # warm the cache once, as a running server would be
            client.get("/v1/search", params={"q": q, **filters}).raise_for_status()
        for _ in range(rounds):
            for q, filters in QUERIES:
                label = q + "".join(f" [{k}={v}]" for k, v in filters.items())
                started = time.perf_counter()
                answer = client.get("/v1/search", params={"q": q, **filters}).raise_for_status()
                times.setdefault(label, []).append((time.perf_counter() - started) * 1000)
                hits.setdefault(label, len(answer.json()["hits"]))
    return times, hits


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


class Explaining:
    """A store whose every query is run with EXPLAIN ANALYZE first, its plan printed."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        plan = await self.store.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join("    " + row["QUERY PLAN"] for row in plan))
        rows: list[dict[str, Any]] = await self.store.fetch(sql, params)
        return rows


async def explain(dsn: str) -> None:
    store = open_store("postgres", dsn)
    await store.open()
    try:
        for q, filters in QUERIES:
            print(f"  -- {q} {filters}")
            terms = parse_query(q)
            given = SearchFilters(
                filters.get("kind"), filters.get("framework"), filters.get("host"),
                filters.get("session_id"),
            )  # fmt: skip
            await search(cast("Queries", Explaining(store)), "postgres", terms, given)
    finally:
        await store.close()


def seed_sqlite_from(source: str, path: Path, every: int) -> int:
    """Every `every`th document of a seeded PostgreSQL database into a fresh SQLite store;
    documents copied."""
    from agentmon.store.search import index_sqlite  # (--write runs against older trees too)

    store = open_store("sqlite", str(path))

    async def migrate_sqlite() -> None:
        await store.open()
        await store.close()

    asyncio.run(migrate_sqlite())
    dump = subprocess.run(
        ["psql", "-q", source, "-c",
         "COPY (SELECT doc_key, kind, ts, session_id, run_id, span_id, framework, host, tool, "
         f"text FROM search_docs WHERE abs(hashtext(doc_key)) % {every} = 0) TO STDOUT CSV"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = [
        tuple(int(v) if i == 2 else (v or None) if i < 9 else v for i, v in enumerate(row))
        for row in csv.reader(io.StringIO(dump))
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for at in range(0, len(docs), 5000):
            conn.execute("BEGIN")
            index_sqlite(conn, docs[at : at + 5000])
            conn.execute("COMMIT")
    finally:
        conn.close()
    return len(docs)


WRITE_BATCH = 1000


def write_events(sessions: int) -> list[Envelope]:
    rng, now = random.Random(0), datetime.now(UTC)
    return [e for index in range(sessions) for e in session_events(index, rng, now)]


async def _backend_cpu(dsn: str) -> dict[int, float]:
    """CPU seconds so far of each server backend on the store's database."""
    conn = await asyncpg.connect(dsn)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    times = {}
    for row in pids:
        cpu = psutil.Process(row["pid"]).cpu_times()
        times[row["pid"]] = cpu.user + cpu.system
    return times


async def write_cost(
    kind: str, target: str, events: list[Envelope], max_chars: int
) -> tuple[float, float]:
    """(this process, the server backends) CPU seconds per event writing `events` into a
    fresh store in batches."""
    store = open_store(kind, target)
    store.search_max_chars = max_chars
    await store.open()
    try:
        await store.write(events[:WRITE_BATCH])  # connections and statements warm
        server = await _backend_cpu(target) if kind == "postgres" else {}
        started = time.process_time()
        for at in range(WRITE_BATCH, len(events), WRITE_BATCH):
            await store.write(events[at : at + WRITE_BATCH])
        client = time.process_time() - started
        after = await _backend_cpu(target) if kind == "postgres" else {}
    finally:
        await store.close()
    written = len(events) - WRITE_BATCH
    server_cpu = sum(cpu - server.get(pid, 0.0) for pid, cpu in after.items())
    return client / written, server_cpu / written


def fresh_target(kind: str, pg: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        return str(tmp / f"{name}.db")
    admin_sql(pg, f'CREATE DATABASE "{name}"')
    return f"{pg}/{name}"


def drop_target(kind: str, pg: str, name: str) -> None:
    if kind == "postgres":
        admin_sql(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_write(kind: str, pg: str, sessions: int, rounds: int, tmp: Path) -> None:
    settings = {"on": DEFAULT_MAX_CHARS, "off": 0}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
    for round_ in range(rounds):
        for setting, max_chars in settings.items():
            name = f"agentmon_bench_search_w_{uuid.uuid4().hex[:8]}"
            target = fresh_target(kind, pg, tmp, name)
            try:
                events = write_events(sessions)
                cost = asyncio.run(write_cost(kind, target, events, max_chars))
            finally:
                drop_target(kind, pg, name)
            cpu[setting].append(cost)
            print(
                f"  round {round_ + 1} search {setting:3s}: "
                f"process {cost[0] * 1e6:6.1f} µs/event, server {cost[1] * 1e6:6.1f} µs/event"
            )
    medians = {
        setting: tuple(statistics.median(c[i] for c in costs) * 1e6 for i in (0, 1))
        for setting, costs in cpu.items()
    }
    for setting, (process, server) in medians.items():
        print(
            f"{kind}: store.write with search {setting}: median process {process:.1f} µs/event,"
            f" server {server:.1f} µs/event, total {process + server:.1f}"
        )
    on, off = medians["on"], medians["off"]
    print(
        f"{kind}: on / off: process {on[0] / off[0]:.3f}, total "
        f"{(on[0] + on[1]) / (off[0] + off[1]):.3f} (load average {os.getloadavg()[0]:.2f})"
    )


def report(times: dict[str, list[float]], hits: dict[str, int], kind: str) -> None:
    for label, values in times.items():
        print(
            f"  {label:42s} {hits[label]:3d} hits  "
            f"p50 {statistics.median(values):7.1f} ms  p95 {p95(values):7.1f} ms"
        )
    every = [v for values in times.values() for v in values]
    print(
        f"{kind}: GET /v1/search ({len(every)} requests) "
        f"p50 {statistics.median(every):.1f} ms  p95 {p95(every):.1f} ms "
        f"(load average {os.getloadavg()[0]:.2f})"
    )


def bench_sqlite(source: str | None, every: int, rounds: int, tmp: Path) -> None:
    if source is None:
        raise SystemExit("--store sqlite copies from a seeded PostgreSQL database: give --reuse")
    path = tmp / "data" / "agentmon.db"
    path.parent.mkdir(parents=True)
    started = time.monotonic()
    copied = seed_sqlite_from(source, path, every)
    print(f"sqlite: {copied:,} documents copied and indexed in {time.monotonic() - started:.0f} s")
    port = free_port()
    server = serve_query_api("sqlite", str(path), port, tmp)
    try:
        times, hits = measure(f"http://127.0.0.1:{port}", rounds)
    finally:
        server.stop()
    report(times, hits, "sqlite")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--outputs", type=int, default=1_000_000, help="tool outputs with text")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--reuse", help="a DSN already seeded by this benchmark")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--explain", action="store_true", help="print each query's plans")
    parser.add_argument("--write", action="store_true", help="the index's cost in Store.write")
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--sessions", type=int, default=300, help="--write: sessions a round")
    parser.add_argument("--every", type=int, default=10, help="--store sqlite: share copied")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-bench-search-"))
    if args.write:
        bench_write(args.store, args.pg, args.sessions, args.rounds, tmp)
        return
    if args.store == "sqlite":
        bench_sqlite(args.reuse, args.every, args.rounds, tmp)
        return
    created = None
    target = args.reuse
    if target is not None:
        print(f"migrated {target} in {migrate(target):.1f} s")
    else:
        created = f"agentmon_bench_search_{uuid.uuid4().hex[:8]}"
        admin_sql(args.pg, f'CREATE DATABASE "{created}"')
        target = f"{args.pg}/{created}"
        print(f"seeding {target}: {args.events:,} events' worth, {args.outputs:,} tool outputs")
        print(f"  seeded in {seed(target, args.events, args.outputs):.0f} s")
    try:
        rows = subprocess.run(
            ["psql", "-tA", target, "-c",
             "SELECT count(*), pg_size_pretty(pg_total_relation_size('search_docs')) "
             "FROM search_docs"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        print(f"  search_docs: {rows.replace('|', ' documents, ')}")
        if args.explain:
            asyncio.run(explain(target))
        port = free_port()
        server = serve_query_api("postgres", target, port, tmp)
        try:
            times, hits = measure(f"http://127.0.0.1:{port}", args.rounds)
        finally:
            server.stop()
        report(times, hits, "postgres")
    finally:
        if created and not args.keep:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        elif created:
            print(f"kept {target}")


if __name__ == "__main__":
    main()
