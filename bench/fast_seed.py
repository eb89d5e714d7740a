"""Server-side seed of N events and their read models for bench/bench_queries.py --fast-seed.

The shape of the events is that of the old one-statement seed (~78 events a session: 4 runs of
2 model calls and 5 tool calls, usage, an error now and then), spread over the last 7 days, with
the read models (sessions, runs, spans, errors, per-model usage, rollups, facets) generated
from the same sessions. What makes it fast:

- each UTC day's events are generated straight into a stand-alone table (INSERT … SELECT from
  generate_series), and attached as that day's partition once indexed;
- tables are UNLOGGED and have no indexes while they fill: no WAL, no index maintenance per
  row. Indexes and primary keys are built afterwards with one sort each. The tables stay
  UNLOGGED: this database is thrown away after the run, reads do not differ between logged and
  unlogged tables, and SET LOGGED would write every table once more into the WAL
  (wal_level=replica), costing more than the whole load;
- work is spread over `--seed-connections` connections (2 by default: the machine is shared),
  largest pieces first; parallel workers inside each statement are off so each connection is
  one process.

Sessions are laid out in order over the 7 days (session s starts before session s+1), so a
day's events are a contiguous range of sessions and each day's table is generated alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from agentmon.store import partitions

EVENTS_PER_SESSION = 78
RUNS_PER_SESSION = 4
SPANS_PER_RUN = 7
SESSION_MS = 600_000
EVENT_STEP_MS = 7_500  # 78 events over 585 s: every event of a session inside its 600 s
WINDOW = timedelta(days=7)
FRAMEWORKS = "ARRAY['claude-code','codex','openclaw','gemini-cli','hermes']"
READ_MODELS = ("sessions", "runs", "spans", "errors", "model_usage")
SESSION_SETTINGS = (
    "SET synchronous_commit = off",
    "SET maintenance_work_mem = '1GB'",
    "SET max_parallel_maintenance_workers = 0",
    "SET max_parallel_workers_per_gather = 0",
)


@dataclass(frozen=True)
class DaySlice:
    """The sessions (first..last, exclusive) that start in one day partition's part of the
    window, spread evenly over [start_ms, end_ms)."""

    partition: partitions.Partition
    start_ms: int
    end_ms: int
    first: int
    last: int

    @property
    def load_table(self) -> str:
        return f"{self.partition.name}_load"

    def session_ms(self, session: str) -> str:
        """SQL for the start time (epoch ms) of session number `session` of this slice."""
        room = max(self.end_ms - self.start_ms - SESSION_MS - 1_000, 0)
        step = room / max(self.last - self.first, 1)
        return f"({self.start_ms} + floor(({session} - {self.first}) * {step:.6f})::bigint)"


@dataclass(frozen=True)
class Step:
    label: str
    statements: tuple[str, ...]
    weight: float  # rows touched, to start the largest pieces first


def day_slices(events: int, now: datetime) -> list[DaySlice]:
    """The UTC days overlapping [now - 7 days, now), each with its share of the sessions in
    proportion to the part of the window it covers."""
    sessions = events // EVENTS_PER_SESSION
    low, high = now - WINDOW, now
    days = [p for p in partitions.between(low, now, "day") if p.start < high]
    covered = [(max(p.start, low), min(p.end, high)) for p in days]
    total = sum((end - start).total_seconds() for start, end in covered)
    slices, done, first = [], 0.0, 0
    for day, (start, end) in zip(days, covered, strict=True):
        done += (end - start).total_seconds()
        last = round(sessions * done / total)
        slices.append(DaySlice(day, _ms(start), _ms(end), first, last))
        first = last
    return slices


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def events_sql(day: DaySlice, table: str) -> str:
    session = "(i / 78)"
    ts_ms = f"least({day.session_ms(session)} + (i % 78) * {EVENT_STEP_MS}, {day.end_ms - 1})"
    run = f"'s' || {session} || 'r' || ((i % 78) * {RUNS_PER_SESSION} / 78)"
    return f"""
INSERT INTO {table}
SELECT 'e' || i, to_timestamp({ts_ms} / 1000.0),
       (ARRAY['session.start','run.start','span.start','span.end','metric.snapshot','run.end',
              'span.start','span.end','error','session.end'])[1 + i % 10],
       's' || {session}, {run}, NULL, {run} || 't' || (i % {SPANS_PER_RUN}), NULL,
       ({FRAMEWORKS})[1 + {session} % 5], 'host-' || ({session} % 40),
       jsonb_build_object('schema', '{{"name": "agentmon.event", "version": 1}}'::jsonb,
                          'event', jsonb_build_object('id', 'e' || i, 'type', 'span.end'),
                          'payload', '{{"kind": "tool", "name": "Bash", "status": "ok"}}'::jsonb)
FROM generate_series({day.first}::bigint * 78, {day.last}::bigint * 78 - 1) AS i"""


def read_model_sql(day: DaySlice) -> tuple[str, ...]:
    first, last = day.first, day.last
    run_ms = f"{day.session_ms('(r / 4)')} + (r % 4) * 150000"
    return (
        f"""
INSERT INTO sessions (session_id, framework, host, client_id, title, model, first_ts, started_at,
                      last_ts, ended_at, last_run_ts, end_reason, last_run_status, error_count,
                      input_tokens, output_tokens, total_tokens, cost_usd)
SELECT 's' || s, ({FRAMEWORKS})[1 + s % 5], 'host-' || (s % 40), 'host-' || (s % 40),
       'bench session', 'm', t, t, t + 600000,
       CASE WHEN s % 10 = 0 THEN NULL ELSE t + 600000 END, t + 590000,
       CASE WHEN s % 10 = 0 THEN NULL ELSE 'prompt_input_exit' END,
       CASE WHEN s % 17 = 0 THEN 'error' ELSE 'ok' END, s % 3, 10800, 720, 11520, 0.032
FROM (SELECT s, {day.session_ms("s")} AS t
      FROM generate_series({first}::bigint, {last}::bigint - 1) AS s) AS seeded""",
        f"""
INSERT INTO runs (run_id, session_id, framework, host, input, model, first_ts, started_at, last_ts,
                  ended_at, status, output, duration_ms, error_count, input_tokens, output_tokens,
                  total_tokens, cost_usd)
SELECT 's' || (r / 4) || 'r' || (r % 4), 's' || (r / 4), ({FRAMEWORKS})[1 + (r / 4) % 5],
       'host-' || ((r / 4) % 40), 'do the thing', 'm', t, t, t + 120000, t + 120000,
       CASE WHEN r % 23 = 0 THEN 'error' ELSE 'ok' END, 'done', 120000, 0, 2700, 180, 2880, 0.008
FROM (SELECT r, {run_ms} AS t
      FROM generate_series({first}::bigint * 4, {last}::bigint * 4 - 1) AS r) AS seeded""",
        f"""
INSERT INTO spans (span_id, run_id, session_id, framework, kind, name, input, first_ts, started_at,
                   ended_at, status, output, duration_ms)
SELECT run_id || 't' || k, run_id, 's' || (r / 4), ({FRAMEWORKS})[1 + (r / 4) % 5],
       CASE WHEN k < 2 THEN 'llm' ELSE 'tool' END,
       CASE WHEN k < 2 THEN 'm' ELSE (ARRAY['Bash','Read','Edit','Grep','exec'])[1 + k % 5] END,
       '{{"command": "ls"}}', t + k * 5000, t + k * 5000, t + k * 5000 + 1200,
       CASE WHEN (k + length(run_id)) % 20 = 0 THEN 'error' ELSE 'ok' END, '"ok"', 1200
FROM (SELECT r, 's' || (r / 4) || 'r' || (r % 4) AS run_id, {run_ms} AS t
      FROM generate_series({first}::bigint * 4, {last}::bigint * 4 - 1) AS r) AS seeded,
     generate_series(0, {SPANS_PER_RUN - 1}) AS k""",
        f"""
INSERT INTO errors (event_id, ts, session_id, run_id, framework, host, kind, message)
SELECT 'err-s' || (r / 4) || 'r' || (r % 4), {run_ms} + 120000, 's' || (r / 4),
       's' || (r / 4) || 'r' || (r % 4), ({FRAMEWORKS})[1 + (r / 4) % 5],
       'host-' || ((r / 4) % 40), 'tool', 'Bash: exit code 1'
FROM generate_series({first}::bigint * 4, {last}::bigint * 4 - 1) AS r WHERE r % 23 = 0""",
        f"""
INSERT INTO model_usage (session_id, model, framework, last_ts, calls, input_tokens,
                         output_tokens, total_tokens, cost_usd)
SELECT 's' || s, 'm', ({FRAMEWORKS})[1 + s % 5], {day.session_ms("s")} + 600000, 12, 10800, 720,
       11520, 0.032
FROM generate_series({first}::bigint, {last}::bigint - 1) AS s""",
    )


def rollups_sql(events: int) -> tuple[str, ...]:
    sessions = events // EVENTS_PER_SESSION
    runs = sessions * RUNS_PER_SESSION
    minutes = (
        "generate_series((extract(epoch FROM now())::bigint / 60 - 10080) * 60000, "
        "(extract(epoch FROM now())::bigint / 60) * 60000, 60000) AS bucket"
    )
    return (
        f"""
INSERT INTO rollup_minute (bucket, framework, events, sessions, runs, tool_calls, errors,
                           total_tokens, input_tokens, output_tokens, cost_usd)
SELECT bucket, framework, {events // 50400}, {sessions // 50400 + 1}, {runs // 50400 + 1},
       {events // 50400 // 4}, 1, 9000, 8400, 600, 0.03
FROM {minutes}, unnest({FRAMEWORKS}) AS framework""",
        """
INSERT INTO rollup_hour
SELECT bucket / 3600000 * 3600000, framework, sum(events), sum(sessions), sum(runs),
       sum(tool_calls), sum(errors), sum(total_tokens), sum(input_tokens), sum(output_tokens),
       sum(cost_usd)
FROM rollup_minute GROUP BY 1, 2""",
        f"""
INSERT INTO tool_rollup_minute (bucket, name, calls, errors, timed_calls, total_ms)
SELECT bucket, name, 40, 2, 40, 48000
FROM {minutes},
     unnest(ARRAY['Bash','Read','Edit','Grep','exec','web_fetch','apply_patch']) AS name""",
        """
INSERT INTO tool_rollup_hour
SELECT bucket / 3600000 * 3600000, name, sum(calls), sum(errors), sum(timed_calls),
       sum(total_ms)
FROM tool_rollup_minute GROUP BY 1, 2""",
        """
INSERT INTO facets (kind, value, last_ts)
SELECT 'framework', framework, max(last_ts) FROM sessions GROUP BY framework
UNION ALL
SELECT 'host', host, max(last_ts) FROM sessions GROUP BY host""",
    )


@dataclass(frozen=True)
class Index:
    """An index of a read model as the migrations made it, to drop before the load and build
    after it (a primary key is a constraint, the rest plain indexes)."""

    table: str
    name: str
    definition: str
    constraint: str | None

    def drop_sql(self) -> str:
        if self.constraint:
            return f"ALTER TABLE {self.table} DROP CONSTRAINT {self.constraint}"
        return f"DROP INDEX {self.name}"

    def build_sql(self) -> str:
        if self.constraint:
            return f"ALTER TABLE {self.table} ADD CONSTRAINT {self.constraint} {self.definition}"
        return self.definition


async def indexes_of(conn: asyncpg.Connection, tables: Iterable[str]) -> list[Index]:
    rows = await conn.fetch(
        "SELECT t.relname AS tbl, x.relname AS name, c.conname, "
        "       coalesce(pg_get_constraintdef(c.oid), pg_get_indexdef(i.indexrelid)) AS def "
        "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_class x ON x.oid = i.indexrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
        "WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace",
        list(tables),
    )
    return [Index(r["tbl"], r["name"], r["def"], r["conname"]) for r in rows]


def event_index_steps(day: DaySlice) -> list[Step]:
    table, rows = day.load_table, (day.last - day.first) * EVENTS_PER_SESSION
    start, end = day.partition.start.isoformat(), day.partition.end.isoformat()
    return [
        Step(
            f"{table} primary key",
            (
                # the CHECK lets ATTACH PARTITION skip scanning the table
                f"ALTER TABLE {table} ADD PRIMARY KEY (event_id, ts), ADD CONSTRAINT "
                f"{table}_range CHECK (ts >= '{start}' AND ts < '{end}')",
            ),
            rows * 1.5,
        ),
        Step(f"{table} (ts)", (f"CREATE INDEX ON {table} (ts DESC)",), rows),
        Step(
            f"{table} (session_id, ts)",
            (f"CREATE INDEX ON {table} (session_id, ts DESC)",),
            rows * 1.2,
        ),
    ]


async def run_steps(dsn: str, steps: Iterable[Step], connections: int) -> None:
    """Run the steps on `connections` connections, largest first, each step on one of them."""
    queue: asyncio.Queue[Step] = asyncio.Queue()
    for step in sorted(steps, key=lambda s: -s.weight):
        queue.put_nowait(step)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for setting in SESSION_SETTINGS:
                await conn.execute(setting)
            while not queue.empty():
                step = queue.get_nowait()
                started = time.perf_counter()
                for statement in step.statements:
                    await conn.execute(statement)
                print(f"    {step.label}: {time.perf_counter() - started:.0f}s", flush=True)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def seed(dsn: str, events: int, connections: int = 2) -> int:
    """Seed `events` events (rounded down to whole sessions) into a migrated and empty agentmon
    database, partitioned by day or not; the number of events written."""
    days = day_slices(events, datetime.now(UTC))
    conn = await asyncpg.connect(dsn)
    try:
        partitioned = await partitions.is_partitioned(conn)
        tables = READ_MODELS if partitioned else ("events", *READ_MODELS)
        indexes = await indexes_of(conn, tables)
        for table in tables:
            await conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
        for index in indexes:
            await conn.execute(index.drop_sql())
        for day in days if partitioned else ():
            await conn.execute(f"DROP TABLE IF EXISTS {day.partition.name}")
            await conn.execute(
                f"CREATE UNLOGGED TABLE {day.load_table} (LIKE events INCLUDING DEFAULTS)"
            )
    finally:
        await conn.close()

    phase = time.perf_counter()
    load = [
        Step(
            f"events of {d.partition.name}",
            (events_sql(d, d.load_table if partitioned else "events"),),
            (d.last - d.first) * EVENTS_PER_SESSION,
        )
        for d in days
    ] + [
        Step(f"read models of {d.partition.name}", read_model_sql(d), (d.last - d.first) * 30)
        for d in days
    ]
    await run_steps(dsn, load, connections)
    print(f"  rows written in {time.perf_counter() - phase:.0f}s", flush=True)

    phase = time.perf_counter()
    build = [s for d in days if partitioned for s in event_index_steps(d)] + [
        Step(f"{i.table}: {i.name}", (i.build_sql(),), 1) for i in indexes
    ]
    await run_steps(dsn, build, connections)
    print(f"  indexes built in {time.perf_counter() - phase:.0f}s", flush=True)

    phase = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for day in days if partitioned else ():
            await _attach(conn, day)
        for statement in rollups_sql(events):
            await conn.execute(statement)
    finally:
        await conn.close()
    await run_steps(
        dsn,
        [Step(f"analyze {t}", (f"ANALYZE {t}",), 1) for t in ("events", *READ_MODELS)],
        connections,
    )
    print(f"  attached and analyzed in {time.perf_counter() - phase:.0f}s", flush=True)
    return (days[-1].last - days[0].first) * EVENTS_PER_SESSION


async def _attach(conn: asyncpg.Connection, day: DaySlice) -> None:
    name, start, end = day.partition.name, day.partition.start, day.partition.end
    async with conn.transaction():
        await conn.execute(f"ALTER TABLE {day.load_table} RENAME TO {name}")
        await conn.execute(
            f"ALTER TABLE events ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        await conn.execute(f"ALTER TABLE {name} DROP CONSTRAINT {day.load_table}_range")
