"""Slow live clients lose events (counted and announced), never slow the publisher."""

from __future__ import annotations

import json

from agentmon.events import new_event
from agentmon.live import QUEUE_BATCHES, LiveFilter, LiveHub


def event(framework: str = "x") -> object:
    return new_event("session.start", framework=framework, session_id="s")


async def test_a_client_that_falls_behind_is_told_how_many_it_missed() -> None:
    hub = LiveHub()
    slow = hub.subscribe(LiveFilter())
    for _ in range(QUEUE_BATCHES + 7):
        hub.publish([event()])  # never blocks
    frames = await slow.next_frames()
    assert json.loads(frames[0]) == {"type": "dropped", "count": 7}
    assert json.loads(frames[1])["type"] == "events"


async def test_filters_pick_events_per_client() -> None:
    hub = LiveHub()
    codex = hub.subscribe(LiveFilter(framework="codex"))
    hub.publish([event("claude"), event("codex")])
    [frame] = await codex.next_frames()
    assert [e["event"]["source"]["framework"] for e in json.loads(frame)["events"]] == ["codex"]
    hub.unsubscribe(codex)
    hub.publish([event("codex")])
    assert codex.queue.empty()
