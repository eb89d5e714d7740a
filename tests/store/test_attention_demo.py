"""The demo a person would believe, on both stores: on first start every attention kind is
there (waiting with its question, stuck, looping, lost, failed), and every run answers the
task it was given."""

from __future__ import annotations

import time

from agentmon.client.sink import Sink
from agentmon.demo import (
    DEMO_HOSTS,
    FOLLOW_UP,
    RESTART_REASON,
    TASKS,
    WAITING_COMMAND,
    WAITING_QUESTION,
    DemoTraffic,
)
from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.attention import attention
from agentmon.store.leftovers import Leftovers, leftovers
from agentmon.store.search import SearchFilters, parse_query, search


def into(store: Store) -> Sink:
    async def write(events: list[Envelope]) -> None:
        await store.write(events)

    return write


async def test_every_state_is_visible_when_the_demo_starts(store: Store) -> None:
    demo = DemoTraffic(into(store), backfill_hours=2, seed=7)
    await demo.backfill()
    found = await attention(store, int(time.time() * 1000) - 86_400_000)
    hosts = {kind: {row["host"] for row in rows} for kind, rows in found.items.items()}
    assert "ada-laptop" in hosts["waiting"]
    assert "devbox-1" in hosts["stuck"]
    assert "devbox-2" in hosts["looping"]
    assert "orb" in hosts["lost"]
    assert "hermes-vm" in hosts["error"]
    waiting = next(r for r in found.items["waiting"] if r["host"] == "ada-laptop")
    assert waiting["waiting_message"] == WAITING_QUESTION
    # the command it asks about was reported before the prompt, as a pre-tool hook does
    hits, _ = await search(store, store.dialect, parse_query(WAITING_COMMAND), SearchFilters())
    assert waiting["session_id"] in {hit["session_id"] for hit in hits}


async def test_each_run_answers_its_own_task(store: Store) -> None:
    await DemoTraffic(into(store), backfill_hours=3, seed=11).backfill()
    answers = {task.prompt: {task.answer, task.failed_answer} for task in (*TASKS, FOLLOW_UP)}
    runs = await store.fetch(
        "SELECT input, output, status FROM runs WHERE ended_at IS NOT NULL", []
    )
    assert len(runs) > 20
    for run in runs:
        assert run["output"] in answers[run["input"]], run
    statuses = {run["status"] for run in runs}
    assert statuses == {"ok", "error"}
    failed = [r for r in runs if r["status"] == "error"]
    assert all(r["output"] in {t.failed_answer for t in (*TASKS, FOLLOW_UP)} for r in failed)


async def test_each_session_names_the_project_of_its_task(store: Store) -> None:
    await DemoTraffic(into(store), backfill_hours=3, seed=5).backfill()
    projects = {task.prompt: task.project for task in TASKS}
    sessions = await store.fetch("SELECT title, cwd FROM sessions", [])
    assert len({s["cwd"] for s in sessions}) >= 3  # the Costs view's "by project" has rows
    for session in sessions:
        if session["title"] in projects:
            assert session["cwd"] == projects[session["title"]], session


def restartable(store: Store, seed: int, hours: float = 2) -> DemoTraffic:
    return DemoTraffic(
        into(store),
        backfill_hours=hours,
        seed=seed,
        earlier=lambda: leftovers(store, DEMO_HOSTS),
    )


async def test_a_restarted_demo_continues_its_history_instead_of_doubling_it(
    store: Store,
) -> None:
    await restartable(store, seed=7).backfill()
    first = await store.fetch("SELECT session_id, waiting_reason FROM sessions", [])
    first_waiting = {r["session_id"] for r in first if r["waiting_reason"]}

    await restartable(store, seed=8).backfill()

    found = await attention(store, int(time.time() * 1000) - 86_400_000)
    for kind in ("waiting", "stuck", "looping", "lost"):
        assert len(found.items[kind]) == 1, (kind, found.items[kind])
    assert {r["session_id"] for r in found.items["waiting"]}.isdisjoint(first_waiting)
    ended = await store.fetch(
        "SELECT end_reason FROM sessions WHERE ended_at IS NOT NULL AND session_id IN "
        f"({', '.join('?' * len(first_waiting))})",
        list(first_waiting),
    )
    assert [r["end_reason"] for r in ended] == [RESTART_REASON]
    kept = await store.fetch("SELECT first_ts, ended_at FROM sessions WHERE ended_at > 0", [])
    assert all(row["ended_at"] - row["first_ts"] < 3_600_000 for row in kept)  # true lengths
    sessions = await store.fetch("SELECT count(*) AS n FROM sessions", [])
    assert sessions[0]["n"] == len(first) + 5  # only the five scenes: no hour was missed


async def test_a_demo_restarted_after_a_while_makes_up_only_the_missing_hours(
    store: Store,
) -> None:
    an_hour_ago = int(time.time() * 1000) - 3_600_000

    async def earlier() -> Leftovers:
        return Leftovers(an_hour_ago, ())

    empty = DemoTraffic(into(store), backfill_hours=24, seed=3, earlier=earlier)
    await empty.backfill()
    oldest = await store.fetch("SELECT min(first_ts) AS ms FROM sessions", [])
    assert oldest[0]["ms"] >= an_hour_ago - 60_000
