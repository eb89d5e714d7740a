"""The store's queries as rows, on both stores: event pages by position and byte budget,
and the run and span pages the export reads."""

from __future__ import annotations

from tests.store.test_contract import at, conversation, other_sessions

from agentmon.events import format_ts, new_event
from agentmon.store import Store
from agentmon.store.queries import EVENT_CHUNK, EventFilters, RecordFilters, SessionFilters


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
