"""The roster, the attention statuses and the error groups through the query API, on both
stores (httpx ASGI transport over a real store)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agentmon.events import Envelope
from agentmon.query import views
from agentmon.query.models import Agent, Agents, AgentToday, AgentToolCall, AgentVm
from tests.query.conftest import QueryApp
from tests.store.test_attention import at, ev, loops, lost_and_not, stuck_and_not, tool


async def get(query: QueryApp, path: str, **params: Any) -> Any:
    response = await query.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def waiting_agent() -> list[Envelope]:
    ask = {"agent_state": "waiting_for_human", "message": "Allow Bash: rm -rf build/ ?"}
    return [
        ev("run.start", 550, session="w", host="mac", run_id="w-r", payload={"input": "clean"}),
        tool(551, "w", "w-r", 0, name="Read", input={"path": "Makefile"}),
        ev("metric.snapshot", 560, session="w", host="mac", run_id="w-r", payload=ask),
    ]


async def test_the_roster_puts_whoever_needs_a_person_first(query: QueryApp) -> None:
    events = waiting_agent()
    for group in (stuck_and_not(), loops(), lost_and_not()):
        for event in group:
            if event.event.source.framework == "claude-code" and not event.event.source.client_id:
                event.event.source.host = f"host-{event.correlation.session_id}"
        events += group
    await query.store.write(events)
    roster = await get(query, "/v1/agents")
    states = [(a["agent_id"], a["state"]) for a in roster["agents"]]
    order = list(views.AGENT_ORDER)
    assert [order.index(state) for _, state in states] == sorted(
        order.index(state) for _, state in states
    )
    by_id = {a["agent_id"]: a for a in roster["agents"]}
    waiting = by_id["claude-code/mac"]
    assert states[0] == ("claude-code/mac", "waiting")
    assert waiting["waiting_message"] == "Allow Bash: rm -rf build/ ?"
    assert waiting["task"] == "clean"
    assert waiting["last_tool"]["name"] == "Read"
    assert by_id["claude-code/host-st"]["state"] == "stuck"
    assert by_id["claude-code/host-loop"]["state"] == "looping"
    assert by_id["claude-code/host-loop"]["last_tool"]["name"] == "Bash"
    assert by_id["claude-code/off"]["state"] == "lost"
    assert by_id["claude-code/off"]["vm"]["state"] == "shutoff"
    assert by_id["claude-code/silent"]["vm"]["stale"] is True
    assert by_id["claude-code/fine"]["state"] == "working"
    assert by_id["claude-code/fine"]["vm"] == {
        "name": "fine",
        "state": "running",
        "reported_at": by_id["claude-code/fine"]["vm"]["reported_at"],
        "stale": False,
        "issues": [],
    }
    assert roster["counts"]["waiting"] == 1 and roster["counts"]["lost"] == 2
    assert sum(roster["counts"].values()) == len(roster["agents"])
    same_day = at(500).date() == at(600).date()
    assert by_id["claude-code/host-loop"]["today"]["runs"] == (1 if same_day else 0)


async def test_the_roster_json_is_exactly_the_documented_model(query: QueryApp) -> None:
    """The roster is built as plain dicts (no pydantic on the way out): every field of the
    `Agents` model and no other, in its order, and every value valid for it."""
    events = waiting_agent()
    for group in (stuck_and_not(), loops(), lost_and_not()):
        events += group
    await query.store.write(events)
    response = await query.client.get("/v1/agents", params={"tz": "Asia/Kolkata"})
    assert response.headers["content-type"] == "application/json"
    roster = response.json()
    assert Agents.model_validate(roster).model_dump(mode="json") == roster
    assert list(roster) == list(Agents.model_fields)
    assert roster["timezone"] == "Asia/Kolkata"
    parts: list[tuple[type[BaseModel], Any]] = [(Agent, a) for a in roster["agents"]]
    parts += [(AgentToday, a["today"]) for a in roster["agents"]]
    parts += [(AgentVm, a["vm"]) for a in roster["agents"] if a["vm"]]
    parts += [(AgentToolCall, a["last_tool"]) for a in roster["agents"] if a["last_tool"]]
    assert {model for model, _ in parts} == {Agent, AgentToday, AgentVm, AgentToolCall}
    for model, part in parts:
        assert list(part) == list(model.model_fields), model


async def test_one_agent_many_sessions_speaks_through_the_most_urgent(query: QueryApp) -> None:
    ask = {"agent_state": "waiting_for_human", "message": "Continue?"}
    await query.store.write(
        [
            ev("session.start", 590, session="new", host="box"),
            ev("run.start", 500, session="old", host="box", run_id="old-r"),
            ev("metric.snapshot", 510, session="old", host="box", payload=ask),
        ]
    )
    (agent,) = (await get(query, "/v1/agents"))["agents"]
    assert (agent["session_id"], agent["state"]) == ("old", "waiting")


async def test_sessions_filter_on_the_attention_statuses(query: QueryApp) -> None:
    await query.store.write(stuck_and_not() + loops() + lost_and_not())
    for status, expected in (
        ("stuck", {"st"}),
        ("looping", {"loop", "err-loop"}),
        ("lost", {"on-silent", "on-off"}),
    ):
        page = await get(query, "/v1/sessions", status=status)
        assert {s["session_id"] for s in page["sessions"]} == expected
        assert {s["status"] for s in page["sessions"]} == {status}
    bad = await query.client.get("/v1/sessions", params={"status": "asleep"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]


def failures() -> list[Envelope]:
    def error(t: float, session: str, message: str, span: str | None = None) -> Envelope:
        return ev(
            "error",
            t,
            session=session,
            run_id=f"{session}-r",
            span_id=span,
            payload={"message": message},
        )

    return [
        ev("run.start", 100, session="e1", run_id="e1-r"),
        ev("run.start", 100, session="e2", run_id="e2-r", host="other"),
        tool(101, "e1", "e1-r", 0, name="Read", status="error"),
        error(101, "e1", "ENOENT: no such file '/src/a.py'", span="e1-r-0"),
        error(200, "e1", "timeout after 30s talking to 10.0.0.7"),
        error(300, "e2", "timeout after 45s talking to 10.0.0.9"),
        error(400, "e2", "timeout after 12.5s talking to 192.168.1.1"),
    ]


async def test_errors_group_by_normalised_message_and_tool(query: QueryApp) -> None:
    await query.store.write(failures())
    answer = await get(query, "/v1/errors/groups", window="1h")
    top, other = answer["groups"]
    assert top["message"] == "timeout after <n>s talking to <n>"
    assert (top["count"], top["sessions"], top["tool"]) == (3, 2, None)
    assert sorted(top["agents"]) == ["claude-code/laptop", "claude-code/other"]
    assert top["example"] == "timeout after 12.5s talking to 192.168.1.1"
    assert sum(top["series"]) == 3 and len(top["series"]) == 60
    assert top["first_seen"] < top["last_seen"]
    assert (other["tool"], other["message"]) == ("Read", "ENOENT: no such file <str>")
    occurrences = await get(query, "/v1/errors", group=top["group"], window="1h")
    assert [e["session_id"] for e in occurrences["errors"]] == ["e2", "e2", "e1"]
    none = await get(query, "/v1/errors", group="nothing", window="1h")
    assert none["errors"] == []
    bad = await query.client.get("/v1/errors/groups", params={"window": "2y"})
    assert bad.status_code == 400 and "window" in bad.json()["error"]


def test_messages_normalise_what_varies() -> None:
    assert (
        views.normalize_message('open "/tmp/x 1" failed: /var/log/a.log id 3f2a9c1e7b at 0x7ffe12')
        == "open <str> failed: <path> id <id> at <id>"
    )
    assert (
        views.normalize_message("run 123e4567-e89b-12d3-a456-426614174000 exited 137")
        == "run <id> exited <n>"
    )
    assert views.normalize_message(None) == ""


async def test_metrics_count_sessions_per_state(query: QueryApp) -> None:
    await query.store.write(stuck_and_not() + loops() + lost_and_not())
    response = await query.client.get("/metrics")
    assert response.status_code == 200
    lines = set(response.text.splitlines())
    for state, n in (("stuck", 1), ("looping", 2), ("lost", 2), ("active", 5), ("waiting", 0)):
        assert f'agentmon_sessions{{state="{state}"}} {n}.0' in lines


async def test_the_timeline_gives_each_agent_its_working_and_waiting_spans(
    query: QueryApp,
) -> None:
    from tests.store.test_attention_timeline import day

    await query.store.write(day())
    found = await get(query, "/v1/agents/timeline", hours=6)
    assert found["hours"] == 6 and found["from"] < found["to"]
    lanes = {lane["agent_id"]: lane for lane in found["agents"]}
    assert list(lanes) == ["codex/ci", "codex/asks"]
    ci = lanes["codex/ci"]
    assert [span["state"] for span in ci["spans"]] == ["working", "waiting", "working"]
    assert ci["waiting_ms"] == 600_000 and ci["working_ms"] == 1_800_000
    for hours in ("0", "49", "x"):
        response = await query.client.get("/v1/agents/timeline", params={"hours": hours})
        assert response.status_code == 400 and "hours" in response.json()["error"]


async def test_today_starts_at_midnight_in_the_zone_asked_for(query: QueryApp) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    utc = await get(query, "/v1/stats/summary")
    assert utc["timezone"] == "UTC" and utc["day_start"].endswith("T00:00:00.000000Z")
    for name in ("Pacific/Kiritimati", "America/St_Johns", "Asia/Kolkata"):
        for path in ("/v1/stats/summary", "/v1/agents"):
            found = await get(query, path, tz=name)
            assert found["timezone"] == name
            start = datetime.fromisoformat(found["day_start"].replace("Z", "+00:00"))
            local = start.astimezone(ZoneInfo(name))
            assert (local.hour, local.minute) == (0, 0), (name, found["day_start"])
            assert datetime.now(ZoneInfo(name)).date() == local.date()
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "x" * 80, "", "\t"):
        for path in ("/v1/stats/summary", "/v1/agents"):
            response = await query.client.get(path, params={"tz": bad})
            assert response.status_code == 400, (path, bad, response.text)
            assert "'tz'" in response.json()["error"]


async def test_top_tools_carry_p50_and_p95_latency(query: QueryApp) -> None:
    events = [ev("run.start", 500, session="t", run_id="t-r")]
    # Bash: 1..20 s (p50 10 s, p95 19 s); Read: one untimed call
    events += [tool(501, "t", "t-r", n, duration_ms=(n + 1) * 1000) for n in range(20)]
    events.append(tool(502, "t", "t-r", 99, name="Read", duration_ms=None))
    await query.store.write(events)
    found = {t["name"]: t for t in (await get(query, "/v1/stats/tools", window="1h"))["tools"]}
    assert (found["Bash"]["p50_ms"], found["Bash"]["p95_ms"]) == (10_000, 19_000)
    assert found["Bash"]["avg_ms"] == 10_500
    assert (found["Read"]["p50_ms"], found["Read"]["p95_ms"]) == (None, None)


def test_iso_words_epoch_ms_as_the_canonical_timestamp() -> None:
    """The roster's fast formatting (whole seconds cached) says what `ms_to_ts` says over
    any real clock's range, and stays exact to the millisecond far outside it."""
    import random

    from agentmon.events import ms_to_ts

    rng = random.Random(13)
    modern = [rng.randint(0, 4_102_444_800_000) for _ in range(20_000)]  # 1970 to 2100
    for ms in [0, 999, 1000, 1_733_379_000_123, *modern]:
        assert views.iso(ms) == ms_to_ts(ms)
    assert views.iso(-1) == "1969-12-31T23:59:59.999000Z"
    assert views.iso(253_402_300_799_999) == "9999-12-31T23:59:59.999000Z"
    assert views.iso(None) is None


def many_agents(count: int) -> list[Envelope]:
    """`count` agents, one session each on its own host, some waiting, some working, some
    ended and some failed, each entering its state at its own time, with a tool call each."""
    ask = {"agent_state": "waiting_for_human"}
    events = []
    for i in range(count):
        where = {"session": f"s{i}", "host": f"h{i:03}", "run_id": f"r{i}"}
        t = 100 + i * 3
        events += [
            ev("run.start", t, **where, payload={"input": f"task {i}"}),
            ev(
                "span.end",
                t + 1,
                **where,
                span_id=f"r{i}-0",
                payload={"kind": "tool", "name": f"T{i}"},
            ),
        ]
        if i % 4 == 0:
            events.append(
                ev("metric.snapshot", t + 2, **where, payload={**ask, "message": f"{i}?"})
            )
        elif i % 4 == 2:
            events += [ev("run.end", t + 2, **where), ev("session.end", t + 2, **where)]
        elif i % 4 == 3:
            events.append(ev("error", t + 2, **where, payload={"message": f"boom {i}"}))
    return events


async def test_the_roster_pages_in_its_order_and_counts_every_agent(query: QueryApp) -> None:
    await query.store.write(many_agents(30))
    full = await get(query, "/v1/agents", limit=1000)
    assert (full["total"], len(full["agents"]), full["more"]) == (30, 30, False)
    assert len({a["state"] for a in full["agents"]}) >= 3
    paged = []
    for offset in range(0, 35, 7):
        page = await get(query, "/v1/agents", limit=7, offset=offset)
        assert (page["counts"], page["total"]) == (full["counts"], 30)
        assert (page["offset"], page["more"]) == (offset, offset + 7 < 30)
        paged += page["agents"]
    # the same agents in the same order, each with its details and today's figures
    assert paged == full["agents"]
    assert {a["last_tool"]["name"] for a in paged} == {f"T{i}" for i in range(30)}


async def test_the_roster_answers_a_first_page_of_a_hundred(query: QueryApp) -> None:
    await query.store.write(many_agents(130))
    first = await get(query, "/v1/agents")
    assert (len(first["agents"]), first["total"], first["more"]) == (100, 130, True)
    assert sum(first["counts"].values()) == 130
    rest = await get(query, "/v1/agents", offset=100)
    assert (len(rest["agents"]), rest["more"]) == (30, False)
    every = {a["agent_id"] for a in first["agents"] + rest["agents"]}
    assert every == {f"claude-code/h{i:03}" for i in range(130)}


async def test_the_roster_pages_one_state_and_still_counts_them_all(query: QueryApp) -> None:
    await query.store.write(many_agents(30))
    full = await get(query, "/v1/agents", limit=1000)
    for state in ("waiting", "working"):
        page = await get(query, "/v1/agents", state=state, limit=3, offset=1)
        listed = [a for a in full["agents"] if a["state"] == state]
        assert page["agents"] == listed[1:4]
        assert (page["total"], page["counts"]) == (len(listed), full["counts"])
        assert page["more"] == (len(listed) > 4)
