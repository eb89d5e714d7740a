"""A session whose last run failed, then resumed by a later start (migration 022): while its
new run is going it is working, not failed, in the sessions list, its status filters, the
roster and attention; once the new run ends, its status follows that run. Both stores, any
delivery order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.store.test_contract import at, ev, resumed, session_detail, session_ids

from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.agents import roster
from agentmon.store.attention import attention


def failed_stint() -> list[Envelope]:
    """s1's first run fails at 7 s; the session ends at 20 s."""
    return [
        ev("session.start", 0),
        ev("run.start", 1, run_id="r1", payload={"prompt": "fix the test"}),
        ev("span.start", 2, run_id="r1", span_id="t1", payload={"kind": "tool", "name": "Bash"}),
        ev("run.end", 7, run_id="r1", payload={"status": "failed", "error": "tests fail"}),
        ev("session.end", 20, payload={"reason": "prompt_input_exit"}),
    ]


def run_end(status: str) -> Envelope:
    return ev("run.end", 510, run_id="r9", payload={"status": status})


async def status_everywhere(store: Store) -> dict[str, object]:
    """s1's status as the session page, the status filters, the roster and attention say."""
    now_ms = int(at(600).timestamp() * 1000)
    agents = await roster(store, "1h", now_ms)
    found = await attention(store, now_ms - 3_600_000, now_ms=now_ms)
    filtered = [s for s in ("active", "error", "ended") if await session_ids(store, status=s)]
    return {
        "session": (await session_detail(store, "s1"))["session"]["status"],
        "filters": filtered,
        "roster": [row["status"] for row in agents.sessions],
        "attention": [kind for kind, items in found.items.items() if items],
    }


def everywhere(status: str) -> dict[str, object]:
    attention_kinds = ["error"] if status == "error" else []
    return {
        "session": status,
        "filters": [status],
        "roster": [status],
        "attention": attention_kinds,
    }


async def test_a_failed_session_reads_failed_until_a_new_start(store: Store) -> None:
    await store.write(failed_stint())
    assert await status_everywhere(store) == everywhere("error")


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param(lambda e: [e], id="in-order"),
        pytest.param(lambda e: [e[::-1]], id="reversed"),
        pytest.param(lambda e: [[x] for x in e[::-1]], id="one-by-one-reversed"),
        pytest.param(lambda e: [e[5:], e[:5], e], id="resume-first-then-redelivered"),
    ],
)
async def test_a_resumed_failed_session_is_working_while_its_new_run_goes(
    store: Store, batches: Callable[[list[Envelope]], list[list[Envelope]]]
) -> None:
    for batch in batches(failed_stint() + resumed()):
        await store.write(batch)
    assert await status_everywhere(store) == everywhere("active")


@pytest.mark.parametrize(("outcome", "status"), [("ok", "active"), ("error", "error")])
async def test_once_the_new_run_ends_the_status_follows_it(
    store: Store, outcome: str, status: str
) -> None:
    await store.write(failed_stint() + resumed())
    await store.write([run_end(outcome)])
    assert await status_everywhere(store) == everywhere(status)
    await store.write([ev("session.end", 520)])
    ended = "error" if outcome == "error" else "ended"
    assert (await session_detail(store, "s1"))["session"]["status"] == ended
    assert await session_ids(store, status=ended) == ["s1"]
