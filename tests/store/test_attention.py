"""Stuck, looping and lost sessions, on both stores: each a status the session list reports
and filters on, with the same answer from SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.store.test_contract import session_ids, sessions

from agentmon.events import Envelope, new_event
from agentmon.store import Store
from agentmon.store.queries import Attention, SessionFilters


def at(seconds: float) -> datetime:
    """Ten minutes ago plus `seconds`: these states are measured from the real clock."""
    return datetime.now(UTC) - timedelta(seconds=600 - seconds)


def ev(kind: str, t: float, session: str | None = "s1", **fields: Any) -> Envelope:
    fields.setdefault("framework", "claude-code")
    fields.setdefault("host", "laptop")
    return new_event(kind, session_id=session, ts=at(t), **fields)


def tool(t: float, session: str, run: str, n: int, **payload: Any) -> Envelope:
    payload.setdefault("name", "Bash")
    return ev(
        "span.end",
        t,
        session=session,
        run_id=run,
        span_id=f"{run}-{n}",
        payload={"kind": "tool", "status": "ok", **payload},
    )


def stuck_and_not() -> list[Envelope]:
    """`st`: a run open and silent for 11 min; `quiet`: silent as long, its run ended."""
    return [
        ev("run.start", -60, session="st", run_id="st-r"),
        ev("run.start", -70, session="quiet", run_id="quiet-r"),
        ev("run.end", -60, session="quiet", run_id="quiet-r", payload={"status": "ok"}),
        ev("run.start", 590, session="busy", run_id="busy-r"),
    ]


def loops() -> list[Envelope]:
    """`loop`: five identical calls; `err-loop`: five calls failing alike; `four`: only four;
    `varied`: five calls with different inputs."""
    same = {"input": {"command": "npm test"}}
    events = [ev("run.start", 500, session=s, run_id=f"{s}-r") for s in ("loop", "err-loop")]
    events += [ev("run.start", 500, session=s, run_id=f"{s}-r") for s in ("four", "varied")]
    for n in range(5):
        events.append(tool(501 + n, "loop", "loop-r", n, **same))
        events.append(
            tool(501 + n, "err-loop", "err-loop-r", n, input={"n": n}, error="ENOENT: no file")
        )
        events.append(tool(501 + n, "varied", "varied-r", n, input={"command": f"ls {n}"}))
    events += [tool(501 + n, "four", "four-r", n, **same) for n in range(4)]
    return events


def vm(name: str, t: float, state: str) -> Envelope:
    return new_event(
        "openclaw.snapshot",
        framework="openclaw",
        client_id=name,
        host=name,
        ts=at(t),
        payload={"instance": name, "state": state},
    )


def lost_and_not() -> list[Envelope]:
    """Agents on `silent` (no snapshot for 8 min), `off` (shut off) and `fine` (running)."""
    events = [vm("silent", 120, "running"), vm("off", 590, "shutoff"), vm("fine", 590, "running")]
    for name in ("silent", "off", "fine"):
        events.append(ev("session.start", 580, session=f"on-{name}", client_id=name, host=name))
    return events


async def statuses(store: Store) -> dict[str, str]:
    return {s["session_id"]: s["status"] for s in await sessions(store)}


async def test_a_silent_open_run_is_stuck(store: Store) -> None:
    await store.write(stuck_and_not())
    assert await statuses(store) == {"st": "stuck", "quiet": "active", "busy": "active"}
    assert await session_ids(store, status="stuck") == ["st"]
    assert set(await session_ids(store, status="active")) == {"quiet", "busy"}
    assert await store.count_sessions(SessionFilters(status="stuck")) == 1


async def test_the_stuck_threshold_is_a_setting(store: Store) -> None:
    store.attention = Attention(stuck_after_ms=20 * 60_000)
    await store.write(stuck_and_not())
    assert await session_ids(store, status="stuck") == []


async def test_the_same_call_repeated_is_a_loop(store: Store) -> None:
    await store.write(loops())
    assert await statuses(store) == {
        "loop": "looping",
        "err-loop": "looping",
        "four": "active",
        "varied": "active",
    }
    assert set(await session_ids(store, status="looping")) == {"loop", "err-loop"}
    assert set(await session_ids(store, status="active")) == {"four", "varied"}


async def test_a_loop_ends_with_its_run_and_the_count_is_a_setting(store: Store) -> None:
    store.attention = Attention(loop_repeats=4)
    await store.write(loops())
    assert set(await session_ids(store, status="looping")) == {"loop", "err-loop", "four"}
    await store.write([ev("run.end", 520, session="four", run_id="four-r")])
    assert set(await session_ids(store, status="looping")) == {"loop", "err-loop"}


async def test_an_agent_on_a_silent_or_stopped_vm_is_lost(store: Store) -> None:
    await store.write(lost_and_not())
    assert await statuses(store) == {"on-silent": "lost", "on-off": "lost", "on-fine": "active"}
    assert set(await session_ids(store, status="lost")) == {"on-silent", "on-off"}
    assert await session_ids(store, status="active") == ["on-fine"]
    assert await store.count_sessions(SessionFilters(status="lost")) == 2


async def test_waiting_and_ended_sessions_are_never_stuck_looping_or_lost(store: Store) -> None:
    events = stuck_and_not() + loops() + lost_and_not()
    ask = {"agent_state": "waiting_for_human", "message": "Allow Bash?"}
    events += [
        ev("metric.snapshot", -50, session="st", run_id="st-r", payload=ask),
        ev("session.end", 590, session="loop"),
        ev("session.end", 590, session="on-off", client_id="off", host="off"),
    ]
    await store.write(events)
    found = await statuses(store)
    assert (found["st"], found["loop"], found["on-off"]) == ("waiting", "ended", "ended")
    every = {s: len(await session_ids(store, status=s)) for s in set(found.values())}
    assert every == {s: list(found.values()).count(s) for s in every}
