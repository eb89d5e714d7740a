"""The roster's write-time latest run and tool call (sessions.latest_run_id,
runs.latest_tool_id, migration 024), on both stores: the same in any delivery order and under
redelivery, the same as the migration's backfill, and what the roster reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.store.test_agents_read_model import MIGRATION, run_sql
from tests.store.test_attention import ev, tool

from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.agents import roster


def work() -> list[Envelope]:
    """`s`: run `a` starts first and runs long, run `b` starts after it (so `b` is the
    latest, though `a` is heard from last); `a`'s call `a-0` starts before `a-1` is seen and
    ends after it (so `a-1` is `a`'s latest call), `a` also has a model span (not a tool).
    `tie`: two runs first seen at once (the greater id is the latest). `quiet`: no run.
    `no-tools`: a run with no tool call."""
    span = {"session": "s", "run_id": "a", "span_id": "a-0"}
    return [
        ev("session.start", 99, session="s"),
        ev("run.start", 100, session="s", run_id="a", payload={"input": "first"}),
        ev("span.start", 101, **span, payload={"kind": "tool", "name": "Read"}),
        tool(102, "s", "a", 1, name="Edit"),
        ev("span.end", 103, **span, payload={"kind": "tool", "status": "ok"}),
        ev("run.start", 105, session="s", run_id="b", payload={"input": "second"}),
        tool(106, "s", "b", 0, name="Grep"),
        ev("span.end", 110, session="s", run_id="a", span_id="a-llm", payload={"kind": "llm"}),
        ev("metric.snapshot", 111, session="s", run_id="a", payload={"tokens": 3}),
        ev("run.start", 200, session="tie", run_id="tie-c"),
        ev("run.start", 200, session="tie", run_id="tie-d"),
        tool(201, "tie", "tie-c", 0),
        ev("session.start", 300, session="quiet"),
        ev("run.start", 400, session="no-tools", run_id="nt"),
        ev("run.end", 401, session="no-tools", run_id="nt", payload={"status": "ok"}),
    ]


EXPECTED_RUNS = {"s": "b", "tie": "tie-d", "quiet": None, "no-tools": "nt"}
EXPECTED_TOOLS = {"a": "a-1", "b": "b-0", "tie-c": "tie-c-0", "tie-d": None, "nt": None}


async def latest(store: Store) -> tuple[dict[str, str | None], dict[str, str | None]]:
    sessions = await store.fetch("SELECT session_id, latest_run_id FROM sessions", [])
    runs = await store.fetch("SELECT run_id, latest_tool_id FROM runs", [])
    return (
        {row["session_id"]: row["latest_run_id"] for row in sessions},
        {row["run_id"]: row["latest_tool_id"] for row in runs},
    )


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param(lambda e: [e], id="one-batch"),
        pytest.param(lambda e: [e[::-1]], id="one-batch-reversed"),
        pytest.param(lambda e: [[x] for x in e], id="one-by-one"),
        pytest.param(lambda e: [[x] for x in e[::-1]], id="one-by-one-reversed"),
        pytest.param(lambda e: [e[1::2], e[::2]], id="interleaved"),
        pytest.param(lambda e: [e[5:], e[:5], e], id="redelivered"),
    ],
)
async def test_the_latest_run_and_call_are_the_same_in_any_order(
    store: Store, batches: Callable[[list[Envelope]], list[list[Envelope]]]
) -> None:
    for batch in batches(work()):
        await store.write(batch)
    assert await latest(store) == (EXPECTED_RUNS, EXPECTED_TOOLS)


async def test_a_run_seen_late_but_started_early_stops_being_the_latest(store: Store) -> None:
    """`a` heard from first (at 110, after `b` began), its start delivered last: a running
    maximum of first sights would keep `a`; the recount moves to `b`."""
    events = work()
    late_a = [e for e in events if e.event.type == "metric.snapshot"]  # `a`'s, at 111
    await store.write(late_a)
    assert (await latest(store))[0]["s"] == "a"
    await store.write([e for e in events if e.correlation.run_id == "b"])
    await store.write([e for e in events if e.correlation.run_id == "a"])
    assert (await latest(store))[0]["s"] == "b"
    assert (await latest(store))[1]["a"] == "a-1"


async def test_the_migration_backfills_what_the_write_path_keeps(store: Store) -> None:
    await store.write(work())
    written = await latest(store)
    await run_sql(store, "UPDATE sessions SET latest_run_id = NULL")
    await run_sql(store, "UPDATE runs SET latest_tool_id = NULL")
    script = (MIGRATION / store.dialect / "024_roster_latest.sql").read_text()
    await run_sql(store, script.split("-- What was stored before, folded in once.")[1])
    assert await latest(store) == written == (EXPECTED_RUNS, EXPECTED_TOOLS)


async def test_the_roster_reads_the_latest_run_and_its_latest_call(store: Store) -> None:
    await store.write([e for e in work() if e.correlation.session_id == "s"][::-1])
    (chosen,) = (await roster(store, "24h")).sessions
    assert (chosen["latest_run"], chosen["run_input"]) == ("b", "second")
    assert (chosen["latest_tool"], chosen["tool_name"]) == ("b-0", "Grep")


async def test_a_latest_run_that_retention_deleted_is_not_named(store: Store) -> None:
    """Retention deletes runs by their last event: a session kept past its latest run
    names no run (and so no call) rather than one that is gone."""
    await store.write([e for e in work() if e.correlation.session_id == "s"])
    await run_sql(store, "DELETE FROM runs WHERE run_id = 'b'")
    (chosen,) = (await roster(store, "24h")).sessions
    assert (chosen["latest_run"], chosen["latest_tool"], chosen["run_input"]) == (None, None, None)
