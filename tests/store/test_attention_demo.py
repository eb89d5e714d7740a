"""The demo a person would believe, on both stores: on first start every attention kind is
there (waiting with its question, stuck, looping, lost, failed), and every run answers the
task it was given."""

from __future__ import annotations

import time

from agentmon.client.sink import Sink
from agentmon.demo import FOLLOW_UP, TASKS, WAITING_QUESTION, DemoTraffic
from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.attention import attention


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
