"""The attention list over a window and its acknowledgements, on both stores: one item per
session in each kind, acknowledged for everyone, open again when the thing happens again."""

from __future__ import annotations

import time

import pytest
from tests.store.test_attention import ev, loops, lost_and_not, stuck_and_not

from agentmon.events import Envelope
from agentmon.store import NotFound, Store
from agentmon.store.attention import (
    NotInKind,
    acknowledge,
    attention,
    current_item,
    unacknowledge,
)

ASK = {"agent_state": "waiting_for_human", "message": "Allow Bash: rm -rf build/ ?"}
DAY_MS = 86_400_000


def failed(session: str, t: float, run: str = "r") -> list[Envelope]:
    run_id = f"{session}-{run}"
    return [
        ev("run.start", t - 1, session=session, run_id=run_id),
        ev("run.end", t, session=session, run_id=run_id, payload={"status": "error"}),
    ]


def fleet() -> list[Envelope]:
    """One session in each kind, an old failure, and sessions that need nobody."""
    events = stuck_and_not() + loops() + lost_and_not()
    events.append(ev("metric.snapshot", 580, session="asks", payload=ASK))
    events += [*failed("broke", 550), ev("session.end", 560, session="broke")]
    events += [*failed("long-ago", -2 * 86400), ev("session.end", -2 * 86400, session="long-ago")]
    return events


def since_a_day_ago() -> int:
    return int(time.time() * 1000) - DAY_MS


async def kinds(store: Store) -> dict[str, list[str]]:
    found = await attention(store, since_a_day_ago())
    return {kind: sorted(r["session_id"] for r in rows) for kind, rows in found.items.items()}


async def test_each_kind_lists_what_began_within_the_window(store: Store) -> None:
    await store.write(fleet())
    assert await kinds(store) == {
        "waiting": ["asks"],
        "stuck": ["st"],
        "looping": ["err-loop", "loop"],
        "lost": ["on-off", "on-silent"],
        "error": ["broke"],
    }
    found = await attention(store, since_a_day_ago())
    assert found.open == {"waiting": 1, "stuck": 1, "looping": 2, "lost": 2, "error": 1}
    everything = await attention(store, since_a_day_ago() - 2 * DAY_MS)
    assert sorted(r["session_id"] for r in everything.items["error"]) == ["broke", "long-ago"]
    assert (await attention(store, since_a_day_ago(), limit=1)).open["looping"] == 2


async def test_an_acknowledgement_is_stored_with_who_and_when(store: Store) -> None:
    await store.write(fleet())
    item = await acknowledge(store, "error", "broke", "read-key", now_ms=1_000)
    assert (item["ack"].acked_by, item["ack"].acked_ms) == ("read-key", 1_000)
    found = await attention(store, since_a_day_ago())
    assert found.open["error"] == 0 and found.acknowledged["error"] == 1
    assert found.items["error"][0]["ack"].acked_by == "read-key"
    assert await unacknowledge(store, "error", "broke")
    assert (await current_item(store, "error", "broke"))["ack"] is None


async def test_an_acknowledged_item_opens_again_when_it_happens_again(store: Store) -> None:
    await store.write(fleet() + failed("again", 500))
    await acknowledge(store, "error", "again", "alice")
    await acknowledge(store, "waiting", "asks", "alice")
    await acknowledge(store, "stuck", "st", "alice")
    found = await attention(store, since_a_day_ago())
    assert found.open["error"] == 1 and found.open["waiting"] == 0 and found.open["stuck"] == 0
    # a later failed run, and a new question
    await store.write(failed("again", 590, run="r2"))
    await store.write([ev("metric.snapshot", 595, session="asks", payload=ASK)])
    found = await attention(store, since_a_day_ago())
    assert found.open["error"] == 2 and found.open["waiting"] == 1 and found.open["stuck"] == 0
    first = found.items["error"][0]
    assert (first["session_id"], first["ack"]) == ("again", None)


async def test_only_a_session_in_that_kind_now_can_be_acknowledged(store: Store) -> None:
    await store.write(fleet())
    with pytest.raises(NotInKind, match="it is active"):
        await acknowledge(store, "stuck", "busy", "bob")
    with pytest.raises(NotFound):
        await acknowledge(store, "error", "nobody", "bob")
    assert not await unacknowledge(store, "error", "nobody")


async def test_many_open_items_never_hide_the_acknowledged_ones(store: Store) -> None:
    await store.write(fleet() + failed("newer", 570) + failed("newest", 575))
    await acknowledge(store, "error", "broke", "alice")
    found = await attention(store, since_a_day_ago(), limit=1)
    shown = [(r["session_id"], r["ack"] is not None) for r in found.items["error"]]
    assert shown == [("newest", False), ("broke", True)]
    assert (found.open["error"], found.acknowledged["error"]) == (2, 1)
