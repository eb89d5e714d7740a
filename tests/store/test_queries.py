"""The store's queries as rows, on both stores: event pages by position and byte budget,
and the run and span pages the export reads."""

from __future__ import annotations

from typing import Any

from tests.store.test_contract import at, conversation, other_sessions

from agentmon.events import Envelope, format_ts, new_event
from agentmon.store import Store
from agentmon.store.queries import (
    EVENT_CHUNK,
    EventFilters,
    RecordFilters,
    SessionFilters,
    SessionOrder,
    SessionSort,
)


async def test_event_rows_hold_canonical_ts_and_the_envelope_text(store: Store) -> None:
    events = conversation()
    await store.write(events)
    page = await store.list_events(limit=3)
    newest = max(events, key=lambda e: (e.event.ts, e.event.id))
    assert not page.rows[0]["payload"].startswith(" ")
    assert (page.rows[0]["ts"], page.rows[0]["event_id"]) == (newest.event.ts, newest.event.id)
    assert page.more
    rest = await store.list_events(position=(page.rows[-1]["ts"], page.rows[-1]["event_id"]))
    assert len(page.rows) + len(rest.rows) == len(events) and not rest.more


async def test_a_byte_budget_stops_reading_but_always_gives_one_row(store: Store) -> None:
    big = [
        new_event("run.end", framework="big", session_id="b", ts=at(i), payload={"o": "x" * 5000})
        for i in range(EVENT_CHUNK + 10)
    ]
    await store.write(big)
    filters = EventFilters(framework="big")
    one = await store.list_events(filters, limit=1000, max_bytes=10)
    assert len(one.rows) == 1 and one.more
    some = await store.list_events(filters, limit=1000, max_bytes=5000 * 20)
    assert 10 <= len(some.rows) < 20 and some.more
    everything = await store.list_events(filters, limit=1000)
    assert len(everything.rows) == len(big) and not everything.more


async def test_runs_and_spans_page_by_id_with_counts(store: Store) -> None:
    await store.write(conversation() + other_sessions())
    first = await store.list_runs(RecordFilters(), limit=2)
    assert [r["run_id"] for r in first.rows] == ["r1", "r2"] and first.more
    assert (first.rows[0]["span_count"], first.rows[0]["tool_count"]) == (2, 2)
    rest = await store.list_runs(RecordFilters(), position="r2")
    assert [r["run_id"] for r in rest.rows] == ["r3"] and not rest.more
    codex = await store.list_runs(RecordFilters(framework="codex"))
    assert [r["run_id"] for r in codex.rows] == ["r3"]
    spans = await store.list_spans(RecordFilters(session_id="s1"))
    assert [s["span_id"] for s in spans.rows] == ["t1", "t2", "t3"]


async def test_counts_take_the_same_filters_as_the_pages(store: Store) -> None:
    await store.write(conversation() + other_sessions())
    assert await store.count_events() == len(conversation() + other_sessions())
    assert await store.count_events(EventFilters(event_type="run.end")) == 2
    assert await store.count_events(EventFilters(after=format_ts(at(20)))) == 5
    assert await store.count_sessions(SessionFilters(status="waiting")) == 1
    assert await store.count_sessions(SessionFilters(host="devbox")) == 2
    assert await store.count_runs(RecordFilters(session_id="s1")) == 2
    assert await store.count_spans(RecordFilters(framework="claude-code")) == 3


def costed_sessions() -> list[Envelope]:
    """Five sessions of one framework: cost, tokens and errors in different orders, some tied."""
    events: list[Envelope] = []
    for i, (cost, tokens, errors, cwd) in enumerate(
        [
            (0.5, 300, 0, "/a"),
            (0.25, 900, 2, "/b"),
            (0.5, 100, 1, "/a"),
            (0.0, 0, 0, None),
            (1.0, 300, 2, "/b"),
        ]
    ):
        session = f"c{i}"
        start = {"cwd": cwd} if cwd else {}
        events.append(
            new_event("session.start", framework="f", session_id=session, ts=at(i), payload=start)
        )
        if tokens:
            usage = {"usage": {"input_tokens": tokens}, "cost_usd": cost, "model": f"m{i % 2}"}
            events.append(
                new_event(
                    "metric.snapshot",
                    framework="f",
                    session_id=session,
                    ts=at(i + 10),
                    payload=usage,
                )
            )
        for e in range(errors):
            events.append(
                new_event(
                    "error",
                    framework="f",
                    session_id=session,
                    ts=at(i + 20 + e),
                    payload={"message": "x"},
                )
            )
    return events


async def session_ids(
    store: Store, order: SessionOrder, limit: int = 2, **filters: Any
) -> list[str]:
    """Every session in `order`, read `limit` at a time through positions (as cursors do)."""
    seen: list[str] = []
    position = None
    while True:
        page = await store.list_sessions(
            SessionFilters(**filters), position=position, limit=limit, order=order
        )
        seen += [row["session_id"] for row in page.rows]
        if not page.more:
            return seen
        position = order.position(page.rows[-1])


async def test_sessions_filter_by_tool_model_and_project(store: Store) -> None:
    await store.write(conversation() + other_sessions() + costed_sessions())
    order = SessionOrder()
    assert await session_ids(store, order, tool="Bash") == ["s1"]
    assert await session_ids(store, order, tool="Read") == ["s1"]
    assert await session_ids(store, order, tool="bash") == []
    assert await session_ids(store, order, models=("claude-sonnet-4-6",)) == ["s1"]
    assert await session_ids(store, order, models=("m0",)) == ["c4", "c2", "c0"]
    assert await session_ids(store, order, project="/b") == ["c4", "c1"]
    # any of several models (one model's names), each session once, a name no call used or
    # a repeat adding nothing
    several = ("m1", "claude-sonnet-4-6", "nope", "m1")
    assert await session_ids(store, order, models=several) == ["c1", "s1"]
    assert await session_ids(store, order, models=("m0", "m1"), project="/b") == ["c4", "c1"]
    assert await store.count_sessions(SessionFilters(models=several)) == 2
    assert await session_ids(store, order, project="/a", models=("m1",)) == []
    assert await store.count_sessions(SessionFilters(project="/a", tool="Bash")) == 0
    assert await store.count_sessions(SessionFilters(project="/a")) == 2


def expected(rows: list[tuple[str, float]], descending: bool) -> list[str]:
    return [sid for sid, _ in sorted(rows, key=lambda r: (r[1], r[0]), reverse=descending)]


async def test_sessions_sort_server_side_with_complete_paging(store: Store) -> None:
    await store.write(costed_sessions())
    full = await store.list_sessions(SessionFilters(framework="f"))
    column = {
        "cost": "cost_usd",
        "tokens": "total_tokens",
        "errors": "error_count",
        "started": "first_ts",
        "last_event": "last_ts",
    }
    sorts: list[SessionSort] = ["started", "last_event", "cost", "tokens", "errors"]
    for sort in sorts:
        values = [(row["session_id"], row[column[sort]]) for row in full.rows]
        for descending in (True, False):
            got = await session_ids(store, SessionOrder(sort, descending), framework="f")
            assert got == expected(values, descending), (sort, descending)
    assert await session_ids(store, SessionOrder("cost"), framework="f") == [
        "c4",
        "c2",
        "c0",
        "c1",
        "c3",
    ]
