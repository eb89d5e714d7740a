"""`GET /v1/search` latency over a large PostgreSQL store.

    .venv/bin/python bench/bench_search.py                      # 10M events' worth, fresh DB
    .venv/bin/python bench/bench_search.py --events 1000000 --keep
    .venv/bin/python bench/bench_search.py --reuse postgresql://…/agentmon_bench_search_x

The search documents are seeded server-side (generate_series, straight into `search_docs`, in
the shape the write path gives `--events` events: ~78 a session, 4 runs each with a prompt and
an answer, 5 tool calls a run, `--outputs` of them with output text, an error now and then,
over the last 7 days). The text mixes commands, paths, a few real words and 5,000 synthetic
words, so queries range from rare (`rm -rf`, `config/prod.yaml`) through mid-frequency to
very common (`pytest`). The events table itself is not seeded: search never reads it.

A real `agentmon query-api` then answers a mix of queries (with and without filters) over
HTTP many times; p50/p95 per query and overall are printed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_queries import serve_query_api
from tests.conftest import admin_sql, free_port

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
]


def seed(dsn: str, events: int, outputs: int) -> float:
    """Migrate (the real schema), then seed; seconds taken."""
    import asyncio

    from agentmon.store.postgres import PostgresStore

    async def migrate() -> None:
        store = PostgresStore(dsn)
        await store.open()
        await store.close()

    asyncio.run(migrate())
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
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentmon-bench-search-"))
    created = None
    target = args.reuse
    if target is None:
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
        port = free_port()
        server = serve_query_api("postgres", target, port, tmp)
        try:
            times, hits = measure(f"http://127.0.0.1:{port}", args.rounds)
        finally:
            server.stop()
        for label, values in times.items():
            print(
                f"  {label:42s} {hits[label]:3d} hits  "
                f"p50 {statistics.median(values):7.1f} ms  p95 {p95(values):7.1f} ms"
            )
        every = [v for values in times.values() for v in values]
        print(
            f"postgres: GET /v1/search ({len(every)} requests) "
            f"p50 {statistics.median(every):.1f} ms  p95 {p95(every):.1f} ms"
        )
    finally:
        if created and not args.keep:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        elif created:
            print(f"kept {target}")


if __name__ == "__main__":
    main()
