"""The query app in process (httpx ASGI transport) on both stores: answers, paging through
all events, the byte cap, the sessions download, and a corpus of hostile parameters."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from agentmon.events import Envelope, new_event
from agentmon.query import app as query_app
from tests.query.conftest import QueryApp, seed_events
from tests.store.test_contract import NOW, first_stint, resumed, resumed_and_ended


def raw_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


async def get(query: QueryApp, path: str, **params: Any) -> Any:
    response = await query.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_details_stats_and_facets_answer(query: QueryApp) -> None:
    await query.store.write(seed_events())
    detail = await get(query, "/v1/sessions/s1")
    assert detail["session"]["models"][0]["tokens"]["total"] == 1800
    assert [r["run_id"] for r in detail["runs"]] == ["r1", "r2"]
    run = await get(query, "/v1/runs/r1")
    assert run["errors"][0]["ts"].endswith("Z") and run["spans"][0]["kind"] == "tool"
    series = await get(query, "/v1/stats/timeseries", window="6h")
    assert set(series) == {"window", "bucket_seconds", "from", "to", "points"}
    assert (await get(query, "/v1/facets"))["hosts"] == ["devbox", "laptop", "vm"]
    [zap] = (await get(query, "/v1/openclaw/instances"))["instances"]
    history = await get(query, "/v1/openclaw/instances/zap/history")
    assert zap["name"] == "zap" and len(history["points"]) == 2


async def test_a_resumed_session_reads_open_then_ended_with_its_active_time(
    query: QueryApp,
) -> None:
    await query.store.write(first_stint() + resumed())
    [listed] = (await get(query, "/v1/sessions"))["sessions"]
    # r1's 6 s, and r9 running from 501 s to its latest event (502 s)
    assert (listed["status"], listed["ended_at"], listed["active_ms"]) == ("active", None, 7_000)
    await query.store.write(resumed_and_ended())
    session = (await get(query, "/v1/sessions/s1"))["session"]
    assert (session["status"], session["duration_ms"], session["active_ms"]) == (
        "ended",
        520_000,
        15_000,
    )


def numbered_events(count: int, same_ts_every: int = 3) -> list[Envelope]:
    """Events whose timestamps repeat in groups, so paging must break ties by event id."""
    return [
        new_event(
            "metric.snapshot",
            framework="pager",
            session_id="page-s",
            ts=NOW - timedelta(seconds=count - i // same_ts_every),
            payload={"n": i},
        )
        for i in range(count)
    ]


async def all_pages(query: QueryApp, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await get(query, "/v1/events", **params, **({"cursor": cursor} if cursor else {}))
        seen += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_events_page_through_all_history_newest_first(query: QueryApp) -> None:
    events = numbered_events(40)
    await query.store.write(events)
    seen = await all_pages(query, framework="pager", limit=7)
    keys = [(e["event"]["ts"], e["event"]["id"]) for e in seen]
    assert keys == sorted(((e.event.ts, e.event.id) for e in events), reverse=True)
    first = await get(query, "/v1/events", framework="pager", limit=40)
    assert first["next_cursor"] is None and len(first["events"]) == 40


async def test_events_range_before_and_after(query: QueryApp) -> None:
    events = numbered_events(30, same_ts_every=1)
    await query.store.write(events)
    after, before = events[9].event.ts, events[20].event.ts
    seen = await all_pages(query, framework="pager", after=after, before=before, limit=4)
    assert sorted(e["payload"]["n"] for e in seen) == list(range(10, 20))
    since = await all_pages(query, framework="pager", since=after)
    assert min(e["payload"]["n"] for e in since) == 9


async def test_big_events_are_capped_by_bytes_and_continue_by_cursor(
    query: QueryApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_app, "MAX_EVENT_PAGE_BYTES", 1_000_000)
    big = [
        new_event("run.end", framework="big", session_id="b", payload={"output": "x" * 200_000})
        for _ in range(12)
    ]
    await query.store.write(big)
    response = await query.client.get("/v1/events", params={"framework": "big", "limit": 1000})
    page = response.json()
    assert len(response.content) < 1_000_000 + 200_000
    assert 1 <= len(page["events"]) < 12 and page["next_cursor"]
    assert {e["event"]["id"] for e in await all_pages(query, framework="big", limit=1000)} == {
        e.event.id for e in big
    }


async def test_sessions_download_as_filtered(query: QueryApp) -> None:
    await query.store.write(seed_events())
    response = await query.client.get("/v1/sessions/export", params={"host": "devbox"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["session_id"] for r in rows) == ["s2", "s3"]
    assert {"tokens_input", "tokens_total", "status", "started_at"} <= set(rows[0])
    lines = (await query.client.get("/v1/sessions/export", params={"format": "jsonl"})).text
    records = [json.loads(line) for line in lines.splitlines()]
    listed = (await get(query, "/v1/sessions"))["sessions"]
    assert records == listed


async def test_sessions_download_of_nothing_is_a_header(query: QueryApp) -> None:
    response = await query.client.get("/v1/sessions/export", params={"framework": "nobody"})
    assert response.status_code == 200
    assert response.text.startswith("session_id,framework,") and response.text.count("\n") == 1


HUGE = 10**22
HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/events", {"since": "0001-01-01T00:00:00+01:00"}, "'since'"),
    ("/v1/events", {"before": "9999-12-31T23:59:59-01:00"}, "'before'"),
    ("/v1/events", {"after": "yesterday"}, "'after'"),
    ("/v1/events", {"framework": "\x00"}, "'framework'"),
    ("/v1/events", {"event_type": "run.end\x00"}, "'event_type'"),
    ("/v1/events", {"limit": str(HUGE)}, "'limit'"),
    ("/v1/events", {"limit": "1e22"}, "'limit'"),
    ("/v1/events", {"cursor": raw_cursor("2026-01-01T00:00:00Z", "e")}, "'cursor'"),
    ("/v1/events", {"cursor": raw_cursor(HUGE, "e")}, "'cursor'"),
    ("/v1/events", {"cursor": raw_cursor("2026-01-01T00:00:00.000000Z", None)}, "'cursor'"),
    ("/v1/events", {"cursor": raw_cursor("0001-01-01T00:00:00+01:00", "e")}, "'cursor'"),
    ("/v1/sessions", {"from": "0001-01-01T00:00:00+01:00"}, "'from'"),
    ("/v1/sessions", {"to": "-1"}, "'to'"),
    ("/v1/sessions", {"framework": "a\x00b"}, "'framework'"),
    ("/v1/sessions", {"host": "h" * 5000}, "'host'"),
    ("/v1/sessions", {"status": "\x00"}, "'status'"),
    ("/v1/sessions", {"cursor": raw_cursor(HUGE, "s")}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor(1e22, "s")}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor(-(2**63) - 1, "s")}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor(True, "s")}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor(1, "s\x00")}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor(1, "s", 2)}, "'cursor'"),
    ("/v1/sessions", {"cursor": raw_cursor({"a": 1})}, "'cursor'"),
    ("/v1/sessions", {"cursor": "\x00"}, "'cursor'"),
    ("/v1/sessions", {"cursor": "%%%"}, "'cursor'"),
    ("/v1/sessions", {"limit": "-1"}, "'limit'"),
    ("/v1/sessions", {"tool": "Ba\x00sh"}, "'tool'"),
    ("/v1/sessions", {"tool": " "}, "'tool'"),
    ("/v1/sessions", {"model": ""}, "'model'"),
    ("/v1/sessions", {"project": "/" * 5000}, "'project'"),
    ("/v1/sessions", {"sort": "cost; DROP TABLE sessions"}, "'sort'"),
    ("/v1/sessions", {"sort": "\x00"}, "'sort'"),
    ("/v1/sessions", {"dir": "up"}, "'dir'"),
    ("/v1/sessions", {"sort": "tokens", "cursor": raw_cursor(1.5, "s")}, "'cursor'"),
    ("/v1/sessions", {"sort": "cost", "cursor": raw_cursor("1.5", "s")}, "'cursor'"),
    ("/v1/sessions", {"sort": "cost", "cursor": raw_cursor(1e400, "s")}, "'cursor'"),
    ("/v1/sessions/export", {"tool": ""}, "'tool'"),
    ("/v1/sessions/export", {"project": "a\x00"}, "'project'"),
    ("/v1/sessions/export", {"format": "xlsx"}, "'format'"),
    ("/v1/sessions/export", {"from": "0001-01-01T00:00:00+01:00"}, "'from'"),
    ("/v1/stats/timeseries", {"framework": "\x00"}, "'framework'"),
    ("/v1/stats/timeseries", {"window": "\x00"}, "'window'"),
    ("/v1/stats/tools", {"limit": str(HUGE)}, "'limit'"),
    ("/v1/sessions/a%00b", {}, "'session_id'"),
    ("/v1/runs/%00", {}, "'run_id'"),
    ("/v1/runs/" + "r" * 5000, {}, "'run_id'"),
    ("/v1/openclaw/instances/%00/history", {}, "'name'"),
    ("/v1/agents", {"limit": "0"}, "'limit'"),
    ("/v1/agents", {"limit": "1001"}, "'limit'"),
    ("/v1/agents", {"limit": "ten"}, "'limit'"),
    ("/v1/agents", {"offset": "-1"}, "'offset'"),
    ("/v1/agents", {"offset": str(HUGE)}, "'offset'"),
    ("/v1/agents", {"offset": "1.5"}, "'offset'"),
    ("/v1/agents", {"state": "asleep"}, "'state'"),
    ("/v1/agents", {"state": "active"}, "'state'"),
]


async def test_hostile_parameters_are_400_naming_the_parameter(query: QueryApp) -> None:
    await query.store.write(seed_events())
    wrong = []
    for path, params, named in HOSTILE:
        response = await query.client.get(path, params=params)
        if response.status_code != 400 or named not in response.json()["error"]:
            wrong.append((path, params, response.status_code, response.text[:200]))
    assert wrong == []


@pytest.mark.parametrize(
    "path", ["/v1/sessions/nope", "/v1/runs/nope", "/v1/openclaw/instances/nope/history"]
)
async def test_unknown_ids_are_404(query: QueryApp, path: str) -> None:
    response = await query.client.get(path)
    assert response.status_code == 404 and "'nope'" in response.json()["error"]
