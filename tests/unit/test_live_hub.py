"""Slow live clients lose events (counted and announced), never slow the publisher."""

from __future__ import annotations

import json

import pytest

from agentmon import live
from agentmon.events import Envelope, new_event
from agentmon.live import OUTBOX_FRAMES, LiveFilter, LiveFull, LiveHub


def event(framework: str = "x") -> Envelope:
    return new_event("session.start", framework=framework, session_id="s")


async def test_a_client_that_falls_behind_is_told_how_many_it_missed() -> None:
    hub = LiveHub()
    slow = hub.subscribe(LiveFilter())
    for _ in range(OUTBOX_FRAMES + 7):
        hub.publish([event()])  # never blocks
        hub.flush()
    frames = await slow.next_frames()
    assert json.loads(frames[0]) == {"type": "dropped", "count": 7}
    assert len(frames) == 1 + OUTBOX_FRAMES
    assert all(json.loads(frame)["type"] == "events" for frame in frames[1:])


async def test_filters_pick_events_per_client() -> None:
    hub = LiveHub()
    codex = hub.subscribe(LiveFilter(framework="codex"))
    hub.publish([event("claude"), event("codex")])
    [frame] = await codex.next_frames()
    assert [e["event"]["source"]["framework"] for e in json.loads(frame)["events"]] == ["codex"]
    hub.unsubscribe(codex)
    hub.publish([event("codex")])
    hub.flush()
    assert not codex.outbox


async def test_clients_with_the_same_filter_share_one_encoded_frame() -> None:
    hub = LiveHub()
    first, second = hub.subscribe(LiveFilter()), hub.subscribe(LiveFilter())
    hub.publish([event(), event()])
    [a], [b] = await first.next_frames(), await second.next_frames()
    assert a is b
    assert len(json.loads(a)["events"]) == 2


async def test_publishes_close_together_go_out_as_one_frame() -> None:
    hub = LiveHub()
    viewer = hub.subscribe(LiveFilter())
    for _ in range(3):
        hub.publish([event()])
    [frame] = await viewer.next_frames()
    assert len(json.loads(frame)["events"]) == 3


async def test_viewers_beyond_the_cap_are_refused_with_the_setting_named() -> None:
    hub = LiveHub(max_viewers=2)
    hub.subscribe(LiveFilter())
    kept = hub.subscribe(LiveFilter())
    with pytest.raises(LiveFull, match="AGENTMON_LIVE_MAX_VIEWERS=2"):
        hub.subscribe(LiveFilter())
    hub.unsubscribe(kept)
    hub.subscribe(LiveFilter())


async def test_beyond_the_send_budget_viewers_get_a_dropped_notice_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "SEND_BYTES_PER_SECOND", 2000)
    hub = LiveHub()
    viewers = [hub.subscribe(LiveFilter()) for _ in range(3)]
    hub.publish([event() for _ in range(4)])  # a ~1 KB frame: the budget affords one viewer
    hub.flush()
    got = [[json.loads(f) for f in await viewer.next_frames()] for viewer in viewers]
    served = [frames for frames in got if frames[0]["type"] == "events"]
    told = [frames for frames in got if frames == [{"type": "dropped", "count": 4}]]
    assert len(served) >= 1 and len(told) >= 1 and len(served) + len(told) == 3
    assert all(len(frames[0]["events"]) == 4 for frames in served)
