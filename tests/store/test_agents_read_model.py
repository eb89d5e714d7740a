"""The roster's read model (agents, agent_quarter, agent_waits), kept at write time, on both
stores: the same answer whatever order the events arrive in and however often."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from agentmon.events import Envelope, new_event
from agentmon.store import Store
from agentmon.store.agents import QUARTER_MS, roster
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore
from agentmon.store.timeline import timeline

ASK = {"agent_state": "waiting_for_human", "message": "Allow Bash?"}
USAGE = {"usage": {"input": 900, "output": 120}, "cost_usd": 0.004}
MIGRATION = Path(__file__).parents[2] / "src/agentmon/store/migrations"
NOW = datetime.now(UTC).replace(microsecond=0)


def at(seconds: float) -> datetime:
    """Ten minutes before the tests' start plus `seconds`."""
    return NOW - timedelta(seconds=600 - seconds)


def ms_at(seconds: float) -> int:
    return int(at(seconds).timestamp() * 1000)


def ev(kind: str, t: float, session: str, **fields: Any) -> Envelope:
    fields.setdefault("host", "laptop")
    return new_event(kind, framework="claude-code", session_id=session, ts=at(t), **fields)


def day() -> list[Envelope]:
    """`laptop`: an old session that failed once and asked a question, then a newer one that
    ended; `box` (a client id): one open run. Two runs, one error, three priced calls."""
    laptop: dict[str, Any] = {"host": "laptop"}
    box: dict[str, Any] = {"host": "h", "client_id": "box"}
    return [
        ev("session.start", 100, session="old", **laptop),
        ev("run.start", 101, session="old", run_id="old-r", payload={"input": "fix"}, **laptop),
        ev("metric.snapshot", 102, session="old", run_id="old-r", payload=USAGE, **laptop),
        ev("error", 103, session="old", run_id="old-r", payload={"message": "boom"}, **laptop),
        ev("metric.snapshot", 104, session="old", payload=ASK, **laptop),
        ev("metric.snapshot", 105, session="old", payload=USAGE, **laptop),  # no run: not counted
        ev("session.end", 106, session="old", **laptop),
        ev("session.start", 300, session="new", **laptop),
        ev("run.start", 301, session="new", run_id="new-r", payload={"input": "ship"}, **laptop),
        ev("metric.snapshot", 302, session="new", run_id="new-r", payload=USAGE, **laptop),
        ev("run.end", 303, session="new", run_id="new-r", payload={"status": "ok"}, **laptop),
        ev("session.end", 304, session="new", **laptop),
        ev("run.start", 200, session="b1", run_id="b1-r", payload={"input": "scan"}, **box),
        ev("metric.snapshot", 201, session="b1", run_id="b1-r", payload=USAGE, **box),
    ]


async def read_model(store: Store) -> dict[str, Any]:
    agents = await store.fetch("SELECT framework, agent, last_ts, session_id FROM agents", [])
    today = await store.fetch(
        "SELECT framework, agent, sum(runs) AS runs, sum(errors) AS errors, "
        "sum(total_tokens) AS tokens, sum(reported_calls) AS calls FROM agent_quarter "
        "GROUP BY framework, agent",
        [],
    )
    waits = await store.fetch("SELECT event_id, session_id, agent FROM agent_waits", [])
    return {
        "agents": sorted(tuple(row.values()) for row in agents),
        "today": sorted(tuple(r.values()) for r in today),
        "waits": sorted((row["session_id"], row["agent"]) for row in waits),
    }


EXPECTED = {
    "today": [("claude-code", "box", 1, 0, 1020, 1), ("claude-code", "laptop", 2, 1, 2040, 2)],
    "waits": [("old", "laptop")],
}


def expected_agents() -> list[tuple[Any, ...]]:
    return [
        ("claude-code", "box", ms_at(201), "b1"),
        ("claude-code", "laptop", ms_at(304), "new"),
    ]


async def test_one_row_per_agent_with_its_latest_session_and_day(store: Store) -> None:
    await store.write(day())
    found = await read_model(store)
    assert found == {**EXPECTED, "agents": expected_agents()}


async def test_out_of_order_and_redelivered_events_give_the_same_rows(store: Store) -> None:
    """Newest first, one event a batch, then the whole day again: sums are exactly-once and
    the latest session is the one with the latest event, not the last one written."""
    events = day()
    for event in reversed(events):
        await store.write([event])
    await store.write(events)
    await store.write(events[3:9])
    assert await read_model(store) == {**EXPECTED, "agents": expected_agents()}
    (wait,) = (await timeline(store, 1)).lanes[0].waiting
    assert wait == (ms_at(104), ms_at(105))  # until the session's next event


async def test_the_roster_reads_today_from_the_rollup(store: Store) -> None:
    await store.write(day())
    now_ms = ms_at(600)
    found = await roster(store, "1h", now_ms, day_start=ms_at(0) // QUARTER_MS * QUARTER_MS)
    today = {
        agent: (int(r["runs"]), int(r["errors"]), int(r["tokens"]))
        for (_, agent), r in found.today.items()
    }
    assert today == {"laptop": (2, 1, 2040), "box": (1, 0, 1020)}
    after_all = (ms_at(304) // QUARTER_MS + 1) * QUARTER_MS
    assert (await roster(store, "1h", now_ms, day_start=after_all)).today == {}


async def test_a_failure_later_work_followed_no_longer_speaks_for_its_agent(
    store: Store,
) -> None:
    """An agent's state is its open sessions' or its latest one's: a session that failed
    before newer work is history (the attention list keeps it), not the agent's state."""
    events = day()
    events.insert(6, ev("run.end", 105, session="old", run_id="old-r", payload={"status": "error"}))
    await store.write(events)
    found = await roster(store, "1h", ms_at(600))
    chosen = {row["agent"]: (row["session_id"], row["status"]) for row in found.sessions}
    assert chosen == {"laptop": ("new", "ended"), "box": ("b1", "active")}


async def test_an_open_session_that_failed_before_later_work_is_history_too(
    store: Store,
) -> None:
    """A session whose run failed and that never ended (as OpenClaw's long-lived ones do)
    no longer speaks for its agent once a newer session has run."""
    events = [
        e for e in day() if e.event.type != "session.end" or e.correlation.session_id != "old"
    ]
    events.insert(6, ev("run.end", 105, session="old", run_id="old-r", payload={"status": "error"}))
    await store.write(events)
    found = await roster(store, "1h", ms_at(600))
    chosen = {row["agent"]: (row["session_id"], row["status"]) for row in found.sessions}
    assert chosen == {"laptop": ("new", "ended"), "box": ("b1", "active")}


async def test_a_failure_that_is_the_agents_latest_word_speaks_for_it(store: Store) -> None:
    events = [e for e in day() if e.correlation.session_id != "new"]
    events.insert(6, ev("run.end", 105, session="old", run_id="old-r", payload={"status": "error"}))
    await store.write(events)
    found = await roster(store, "1h", ms_at(600))
    chosen = {row["agent"]: (row["session_id"], row["status"]) for row in found.sessions}
    assert chosen == {"laptop": ("old", "error"), "box": ("b1", "active")}
    old = next(row for row in found.sessions if row["agent"] == "laptop")
    assert (old["latest_run"], old["run_input"]) == ("old-r", "fix")


async def test_the_migration_folds_in_what_was_stored_before(store: Store) -> None:
    """Rows written before 018 existed: the migration's backfill gives what the write path
    gives (today's usage is counted by run there, so only the totals are compared)."""
    await store.write(day())
    written = await read_model(store)
    await run_sql(store, "DELETE FROM agents; DELETE FROM agent_quarter; DELETE FROM agent_waits")
    script = (MIGRATION / store.dialect / "018_agents_read_model.sql").read_text()
    await run_sql(store, script.split("-- What was stored before, folded in once.")[1])
    assert await read_model(store) == written


async def run_sql(store: Store, script: str) -> None:
    if isinstance(store, SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as lite:
            lite.executescript(script)
        return
    assert isinstance(store, PostgresStore)
    conn = await asyncpg.connect(store.dsn)
    try:
        await conn.execute(script)
    finally:
        await conn.close()
