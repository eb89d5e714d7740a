"""Each agent's working and waiting spans over the last hours, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentmon.events import Envelope, new_event, ts_to_ms
from agentmon.store import Store
from agentmon.store.timeline import timeline

NOW = datetime.now(UTC).replace(microsecond=0)
ASK = {"agent_state": "waiting_for_human", "message": "Allow Bash?"}


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def ms(minutes_ago: float) -> int:
    return ts_to_ms(at(minutes_ago).strftime("%Y-%m-%dT%H:%M:%S.000000Z"))


def ev(kind: str, minutes_ago: float, session: str, host: str, **fields: Any) -> Envelope:
    return new_event(
        kind, framework="codex", host=host, session_id=session, ts=at(minutes_ago), **fields
    )


def day() -> list[Envelope]:
    """`ci`: a run 60→20 min ago that waited 50→40 min ago; `old`: a run 9 h ago;
    `asks`: a run open since 10 min ago, waiting since 5 min ago."""
    return [
        ev("run.start", 60, "ci-1", "ci", run_id="ci-r"),
        ev("metric.snapshot", 50, "ci-1", "ci", run_id="ci-r", payload=ASK),
        ev("span.end", 40, "ci-1", "ci", run_id="ci-r", span_id="t", payload={"kind": "tool"}),
        ev("run.end", 20, "ci-1", "ci", run_id="ci-r", payload={"status": "ok"}),
        ev("run.start", 540, "old-1", "old", run_id="old-r"),
        ev("run.end", 530, "old-1", "old", run_id="old-r", payload={"status": "ok"}),
        ev("run.start", 10, "asks-1", "asks", run_id="asks-r"),
        ev("metric.snapshot", 5, "asks-1", "asks", run_id="asks-r", payload=ASK),
    ]


async def test_runs_are_working_and_questions_waiting_until_the_next_event(
    store: Store,
) -> None:
    await store.write(day())
    now_ms = ms(0)
    found = await timeline(store, 6, now_ms=now_ms)
    lanes = {lane.agent: lane for lane in found.lanes}
    assert set(lanes) == {"ci", "asks"}  # the 9-hour-old run is outside 6 h
    assert lanes["ci"].waiting == [(ms(50), ms(40))]
    assert lanes["ci"].working == [(ms(60), ms(50)), (ms(40), ms(20))]
    assert lanes["asks"].waiting == [(ms(5), now_ms)]
    assert lanes["asks"].working == [(ms(10), ms(5))]
    assert [lane.agent for lane in found.lanes] == ["ci", "asks"]  # most waiting first
    assert {lane.agent for lane in (await timeline(store, 12, now_ms=now_ms)).lanes} == {
        "ci",
        "asks",
        "old",
    }
