"""The sessions list's first page says how many sessions its filters select (both stores)."""

from __future__ import annotations

import pytest

from agentmon.query import app as query_app
from tests.query.conftest import QueryApp, seed_events


async def test_the_first_page_counts_what_the_filters_select(query: QueryApp) -> None:
    await query.store.write(seed_events())
    every = (await query.client.get("/v1/sessions", params={"limit": 1})).json()
    assert every["total"] == await query.store.count_sessions() and every["total"] > 1
    assert len(every["sessions"]) == 1 and every["next_cursor"]
    following = await query.client.get("/v1/sessions", params={"cursor": every["next_cursor"]})
    assert following.json()["total"] is None
    laptop = (await query.client.get("/v1/sessions", params={"host": "laptop"})).json()
    assert laptop["total"] == len(laptop["sessions"]) >= 1
    ended = (await query.client.get("/v1/sessions", params={"status": "ended"})).json()
    assert ended["total"] == len(ended["sessions"])


async def test_counting_stops_at_the_cap_and_says_so(
    query: QueryApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await query.store.write(seed_events())
    every = await query.store.count_sessions()
    assert every > 2
    assert await query.store.count_sessions(at_most=2) == 2
    assert await query.store.count_sessions(at_most=every + 5) == every
    monkeypatch.setattr(query_app, "SESSIONS_COUNTED", every - 1)
    capped = (await query.client.get("/v1/sessions", params={"limit": 1})).json()
    assert (capped["total"], capped["total_capped"]) == (every - 1, True)
    monkeypatch.setattr(query_app, "SESSIONS_COUNTED", every)
    exact = (await query.client.get("/v1/sessions", params={"limit": 1})).json()
    assert (exact["total"], exact["total_capped"]) == (every, False)
