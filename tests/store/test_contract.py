"""One contract for every store: SQLite and PostgreSQL must answer every query the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from agentmon.events import Envelope, new_event
from agentmon.query import views
from agentmon.query.params import BadParameter, session_cursor
from agentmon.store import NotFound, Store
from agentmon.store.queries import Attention, EventFilters, SessionFilters


# the conversation starts 10 minutes before NOW and "today" is the UTC day of NOW: keep both
# on one day when the suite runs just after midnight
def _now() -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return max(now, now.replace(hour=0, minute=15, second=0))


NOW = _now()
# tests/conftest.py moves NOW to the clock before every test (of any module that uses `at`)


def at(seconds: float) -> datetime:
    return NOW - timedelta(seconds=600) + timedelta(seconds=seconds)


def ev(kind: str, t: float, session: str | None = "s1", **fields: Any) -> Envelope:
    fields.setdefault("framework", "claude-code")
    fields.setdefault("host", "laptop")
    return new_event(kind, session_id=session, ts=at(t), **fields)


def conversation() -> list[Envelope]:
    """A session with two runs, tools (one failed), usage, an error and a late start."""
    return [
        ev("run.start", 1, run_id="r1", payload={"input": "fix the test"}),
        ev("session.start", 0, payload={"title": "fix the test", "model": "claude-sonnet-4-6"}),
        ev(
            "span.end",
            4,
            run_id="r1",
            span_id="t1",
            payload={
                "kind": "tool",
                "name": "Bash",
                "status": "ok",
                "duration_ms": 1500,
                "output": {"stdout": "1 passed"},
            },
        ),
        ev(
            "span.start",
            2.5,
            run_id="r1",
            span_id="t1",
            payload={"kind": "tool", "name": "Bash", "input": {"command": "pytest"}},
        ),
        ev("span.start", 5, run_id="r1", span_id="t2", payload={"kind": "tool", "name": "Read"}),
        ev(
            "span.end",
            5.5,
            run_id="r1",
            span_id="t2",
            payload={
                "kind": "tool",
                "name": "Read",
                "status": "error",
                "error": "File does not exist.",
            },
        ),
        ev(
            "error",
            5.5,
            run_id="r1",
            span_id="t2",
            payload={"message": "Read: File does not exist.", "kind": "tool"},
        ),
        ev(
            "metric.snapshot",
            6,
            run_id="r1",
            payload={
                "usage": {"input": 1000, "output": 200, "cacheRead": 50},
                "cost_usd": 0.006,
                "model": "claude-sonnet-4-6",
            },
        ),
        ev(
            "run.end",
            7,
            run_id="r1",
            payload={"status": "success", "output": "fixed", "usage": {"input_tokens": 1000}},
        ),
        ev("run.start", 10, run_id="r2", payload={"prompt": "now commit"}),
        ev(
            "span.end",
            12,
            run_id="r2",
            span_id="t3",
            payload={"kind": "tool", "name": "Bash", "status": "ok", "duration_ms": 800},
        ),
        ev(
            "metric.snapshot",
            13,
            run_id="r2",
            payload={
                "usage": {"input_tokens": 500, "output_tokens": 100, "total_tokens": 600},
                "cost_usd": 0.003,
                "model": "claude-sonnet-4-6",
            },
        ),
        ev(
            "run.end",
            14,
            run_id="r2",
            payload={"status": "failed", "error": "git: nothing to commit"},
        ),
        ev("session.end", 20, payload={"reason": "prompt_input_exit"}),
    ]


def other_sessions() -> list[Envelope]:
    return [
        ev("session.start", 30, session="s2", framework="codex", host="devbox"),
        ev("run.start", 31, session="s2", run_id="r3", framework="codex", host="devbox"),
        ev(
            "metric.snapshot",
            32,
            session="s2",
            framework="codex",
            host="devbox",
            payload={
                "agent_state": "waiting_for_human",
                "waiting_reason": "permission_prompt",
                "message": "Allow Bash?",
            },
        ),
        ev("session.start", 40, session="s3", framework="gemini-cli", host="devbox"),
        new_event(
            "session.start",
            framework="hermes",
            host="vm",
            session_id="s4",
            ts=NOW - timedelta(hours=2),
        ),
        new_event(
            "openclaw.snapshot",
            framework="openclaw",
            client_id="zap",
            host="zap",
            ts=at(50),
            payload={
                "instance": "zap",
                "state": "running",
                "cpu_pct": 12.5,
                "memory": {"pct": 40.0},
                "disk": {"pct": 91.0},
                "issues": [
                    {"severity": "critical", "code": "disk_high", "message": "disk 91% used"}
                ],
            },
        ),
        new_event(
            "openclaw.snapshot",
            framework="openclaw",
            client_id="zap",
            host="zap",
            ts=at(20),
            payload={"instance": "zap", "state": "paused", "cpu_pct": 1.0},
        ),
    ]


async def session_detail(store: Store, session_id: str) -> dict[str, Any]:
    return views.session_detail(await store.get_session(session_id)).model_dump(by_alias=True)


async def run_detail(store: Store, run_id: str) -> dict[str, Any]:
    return views.run_detail(await store.get_run(run_id)).model_dump(by_alias=True)


async def summary(store: Store) -> dict[str, Any]:
    rows = await store.summary(now_ms=int(NOW.timestamp() * 1000))
    return views.summary_view(rows).model_dump(by_alias=True)


async def sessions(store: Store, **filters: Any) -> list[dict[str, Any]]:
    page = await store.list_sessions(SessionFilters(**filters), limit=50)
    return [views.session_view(row).model_dump() for row in page.rows]


async def session_ids(store: Store, **filters: Any) -> list[str]:
    return [s["session_id"] for s in await sessions(store, **filters)]


async def events(store: Store, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
    page = await store.list_events(EventFilters(**filters), limit=limit)
    return [msgspec.json.decode(row["payload"]) for row in page.rows]


async def test_out_of_order_conversation_builds_the_right_rows(store: Store) -> None:
    await store.write(conversation())
    detail = await session_detail(store, "s1")
    session = detail["session"]
    assert session["status"] == "error"  # ended, and its last run failed
    assert session["started_at"].startswith(at(0).strftime("%Y-%m-%dT%H:%M:%S"))
    assert session["title"] == "fix the test"
    assert (session["run_count"], session["span_count"], session["tool_count"]) == (2, 3, 3)
    assert session["error_count"] == 1
    assert session["tokens"] == {
        "input": 1500,
        "output": 300,
        "cache_read": 50,
        "cache_write": 0,
        "total": 1800,
    }
    assert session["cost_usd"] == pytest.approx(0.009)
    assert [m["model"] for m in session["models"]] == ["claude-sonnet-4-6"]
    assert [r["run_id"] for r in detail["runs"]] == ["r1", "r2"]
    assert [r["status"] for r in detail["runs"]] == ["ok", "error"]
    assert detail["runs"][1]["input"] == "now commit"

    run = await run_detail(store, "r1")
    assert [s["span_id"] for s in run["spans"]] == ["t1", "t2"]
    bash = run["spans"][0]
    assert bash["input"] == {"command": "pytest"} and bash["output"] == {"stdout": "1 passed"}
    assert bash["duration_ms"] == 1500 and not bash["reconstructed"]
    assert run["spans"][1]["status"] == "error"
    assert run["errors"][0]["message"] == "Read: File does not exist."
    assert run["run"]["tokens"]["total"] == 1200
    reconstructed = (await run_detail(store, "r2"))["spans"][0]
    assert reconstructed["reconstructed"] and reconstructed["duration_ms"] == 800


async def test_redelivery_stores_once_and_counts_once(store: Store) -> None:
    events = conversation()
    first = await store.write(events)
    again = await store.write(events + events[:3])
    assert len(first.new_events) == len(events)
    assert again.new_events == []
    assert await store.count_events() == len(events)
    day = await summary(store)
    assert day["tool_calls"] == 3 and day["errors"] == 1


async def test_session_statuses_and_filters(store: Store) -> None:
    await store.write(conversation() + other_sessions())
    page = await store.list_sessions()
    assert not page.more
    statuses = {row["session_id"]: views.session_view(row).status for row in page.rows}
    assert statuses == {"s1": "error", "s2": "waiting", "s3": "active", "s4": "idle"}
    waiting = (await session_detail(store, "s2"))["session"]
    assert (
        waiting["waiting_reason"] == "permission_prompt"
        and waiting["waiting_message"] == "Allow Bash?"
    )
    assert await session_ids(store, status="waiting") == ["s2"]
    assert await session_ids(store, framework="codex") == ["s2"]
    assert set(await session_ids(store, host="devbox")) == {"s2", "s3"}
    since = int(at(25).timestamp() * 1000)
    assert set(await session_ids(store, from_ms=since)) == {"s2", "s3"}
    assert set(await session_ids(store, to_ms=since)) == {"s1", "s4"}


async def test_waiting_clears_on_the_next_event(store: Store) -> None:
    # NOW was fixed at import and may lie minutes behind the clock: an open run that old would
    # be stuck (tests/store/test_attention.py), which is not what this test is about
    store.attention = Attention(stuck_after_ms=24 * 3600 * 1000)
    await store.write(other_sessions())
    await store.write(
        [
            ev(
                "span.start",
                33,
                session="s2",
                run_id="r3",
                span_id="x",
                framework="codex",
                payload={"kind": "tool", "name": "Bash"},
            )
        ]
    )
    assert (await session_detail(store, "s2"))["session"]["status"] == "active"


def first_stint() -> list[Envelope]:
    """s1's first run, 1 s to 7 s, and its end at 20 s."""
    return [
        ev("session.start", 0),
        ev("run.start", 1, run_id="r1", payload={"prompt": "fix the test"}),
        ev("run.end", 7, run_id="r1", payload={"status": "success"}),
        ev("session.end", 20, payload={"reason": "prompt_input_exit"}),
    ]


def resumed() -> list[Envelope]:
    """s1 resumed at 500 s (`claude --resume`): a run that is still going."""
    return [
        ev("session.start", 500, payload={"source": "resume"}),
        ev("run.start", 501, run_id="r9", payload={"prompt": "and push"}),
        ev("span.start", 502, run_id="r9", span_id="t9", payload={"kind": "tool", "name": "Bash"}),
    ]


def resumed_and_ended() -> list[Envelope]:
    return [
        ev("run.end", 510, run_id="r9", payload={"status": "ok"}),
        ev("session.end", 520, payload={"reason": "prompt_input_exit"}),
    ]


async def test_a_session_resumed_after_its_end_is_open_until_it_ends_again(store: Store) -> None:
    await store.write(first_stint())
    await store.write(resumed())
    session = (await session_detail(store, "s1"))["session"]
    assert (session["status"], session["ended_at"]) == ("active", None)
    assert await session_ids(store, status="active") == ["s1"]
    assert await session_ids(store, status="ended") == []
    await store.write(resumed_and_ended())
    session = (await session_detail(store, "s1"))["session"]
    assert session["status"] == "ended"
    assert session["ended_at"].startswith(at(520).strftime("%Y-%m-%dT%H:%M:%S"))
    assert session["duration_ms"] == 520_000  # wall time, the gap included
    assert session["active_ms"] == 6_000 + 9_000  # r1 and r9
    assert (await sessions(store))[0]["active_ms"] == session["active_ms"]


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param(lambda e: [e[::-1]], id="one-batch-reversed"),
        pytest.param(lambda e: [[x] for x in e[::-1]], id="one-by-one-reversed"),
        pytest.param(lambda e: [e[4:], e[:4]], id="resume-and-end-before-the-first-stint"),
        pytest.param(lambda e: [e, e[3:], e[:5]], id="redelivered"),
    ],
)
async def test_resume_and_end_answer_the_same_in_any_order(
    store: Store, batches: Callable[[list[Envelope]], list[list[Envelope]]]
) -> None:
    events = first_stint() + resumed() + resumed_and_ended()
    for batch in batches(events):
        await store.write(batch)
    session = (await session_detail(store, "s1"))["session"]
    assert (session["status"], session["duration_ms"], session["active_ms"]) == (
        "ended",
        520_000,
        15_000,
    )
    assert await store.count_events() == len(events)


async def test_an_end_delivered_after_the_resume_does_not_close_it(store: Store) -> None:
    await store.write(first_stint()[:-1] + resumed())
    await store.write(first_stint()[-1:])
    session = (await session_detail(store, "s1"))["session"]
    assert (session["status"], session["ended_at"]) == ("active", None)


async def test_cursor_paging_is_stable_and_complete(store: Store) -> None:
    events = [ev("session.start", i, session=f"p{i:02d}") for i in range(25)]
    await store.write(events)
    seen: list[str] = []
    position = None
    while True:
        page = await store.list_sessions(position=position, limit=10)
        seen += [row["session_id"] for row in page.rows]
        if not page.more:
            break
        position = (page.rows[-1]["first_ts"], page.rows[-1]["session_id"])
    assert seen == [f"p{i:02d}" for i in reversed(range(25))]
    with pytest.raises(BadParameter):
        session_cursor("garbage!")


async def test_unknown_ids_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_session("nope")
    with pytest.raises(NotFound):
        await store.get_run("nope")


async def test_stats_and_events_answer_identically(store: Store) -> None:
    await store.write(conversation() + other_sessions())
    now_ms = int(NOW.timestamp() * 1000)
    day = await summary(store)
    assert day["by_framework"]["claude-code"]["tool_calls"] == 3
    assert day["tokens"]["total"] == 1800
    assert day["waiting_sessions"] == 1
    series = views.timeseries_view(await store.timeseries("1h", now_ms=now_ms)).model_dump()
    assert len(series["points"]) == 60
    assert (
        sum(p["events"] for p in series["points"])
        == len(conversation()) + len(other_sessions()) - 1
    )
    assert sum(p["tool_calls"] for p in series["points"]) == 3
    assert sum(p["tokens"] for p in series["points"]) == 1800
    week = views.timeseries_view(await store.timeseries("7d", now_ms=now_ms)).model_dump()
    assert len(week["points"]) == 168
    assert sum(p["events"] for p in week["points"]) == len(conversation()) + len(other_sessions())
    tools = [views.tool_view(row).model_dump() for row in await store.top_tools("24h")]
    assert tools[0] == {
        "name": "Bash",
        "calls": 2,
        "errors": 0,
        "avg_ms": 1150.0,
        "p50_ms": None,  # the query API adds the percentiles (store.tool_latency)
        "p95_ms": None,
    }
    assert views.facets_view(await store.facets()).model_dump() == {
        "frameworks": ["claude-code", "codex", "gemini-cli", "hermes"],
        "hosts": ["devbox", "laptop", "vm"],
    }
    recent = await events(store, event_type="error")
    assert len(recent) == 1 and recent[0]["payload"]["kind"] == "tool"
    assert len(await events(store, framework="codex", limit=2)) == 2
    assert [e["event"]["type"] for e in await events(store, session_id="s1", limit=1)] == [
        "session.end"
    ]


async def test_vm_snapshots_keep_the_latest_and_history(store: Store) -> None:
    await store.write(other_sessions())
    [zap] = [
        views.instance_view(row, int(NOW.timestamp() * 1000)).model_dump()
        for row in await store.vm_instances()
    ]
    assert zap["name"] == "zap" and zap["snapshot"]["state"] == "running"
    assert zap["issues"][0]["code"] == "disk_high"
    history = [views.history_point(row).model_dump() for row in await store.vm_history("zap", "1h")]
    assert [p["cpu_pct"] for p in history] == [1.0, 12.5]
    assert history[1]["disk_pct"] == 91.0


async def test_concurrent_writers_of_the_same_events_store_them_once(store: Store) -> None:
    events = conversation()
    results = await asyncio.gather(*(store.write(events) for _ in range(4)))
    assert sum(len(r.new_events) for r in results) == len(events)
    day = await summary(store)
    assert day["tool_calls"] == 3


async def test_dead_letters_keep_reason_and_data(store: Store) -> None:
    await store.dead_letter("cannot decode", b"\x00garbage")
    [letter] = await store.dead_letters()
    assert letter["reason"] == "cannot decode" and bytes(letter["data"]) == b"\x00garbage"


async def test_retention_prunes_what_is_older_than_the_cutoff_everywhere(store: Store) -> None:
    old = NOW - timedelta(days=9)

    def aged(kind: str, seconds: float, **fields: Any) -> Envelope:
        fields.setdefault("framework", "claude-code")
        fields.setdefault("host", "old-host")
        return new_event(kind, session_id="old", ts=old + timedelta(seconds=seconds), **fields)

    await store.write(
        [
            aged("session.start", 0),
            aged("run.start", 1, run_id="old-r"),
            aged(
                "span.end",
                2,
                run_id="old-r",
                span_id="old-t",
                payload={"kind": "tool", "name": "Bash"},
            ),
            aged("error", 3, run_id="old-r", payload={"message": "boom"}),
            aged(
                "metric.snapshot",
                4,
                run_id="old-r",
                payload={"usage": {"input_tokens": 5}, "model": "m"},
            ),
            *conversation(),
        ]
    )
    deleted = await store.prune(int((NOW - timedelta(days=7)).timestamp() * 1000))
    assert deleted["events"] == 5 and deleted["sessions"] == 1 and deleted["spans"] == 1
    assert deleted["errors"] == 1 and deleted["model_usage"] == 1 and deleted["rollup_hour"] >= 1
    with pytest.raises(NotFound):
        await store.get_session("old")
    with pytest.raises(NotFound):
        await store.get_run("old-r")
    assert (await session_detail(store, "s1"))["session"]["run_count"] == 2
    assert await store.count_events() == len(conversation())
    assert await store.facets() == {"framework": ["claude-code"], "host": ["laptop"]}
    assert (await store.prune(int((NOW - timedelta(days=7)).timestamp() * 1000)))["events"] == 0
