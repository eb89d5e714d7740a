"""`/v1/sessions` and its export by tool, model and project, and sorted by the server with
cursors that page through every session exactly once, on both stores."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.query.conftest import QueryApp
from tests.store.test_contract import conversation, other_sessions
from tests.store.test_queries import costed_sessions

Params = list[tuple[str, Any]]  # a query string that repeats a name


async def all_ids(query: QueryApp, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await query.client.get("/v1/sessions", params=page)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [s["session_id"] for s in body["sessions"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def test_filters_select_and_count_the_same_sessions(query: QueryApp) -> None:
    await query.store.write(conversation() + other_sessions() + costed_sessions())
    assert await all_ids(query, tool="Bash") == ["s1"]
    assert await all_ids(query, model="m0") == ["c4", "c2", "c0"]
    first = (await query.client.get("/v1/sessions", params={"project": "/b"})).json()
    assert [s["session_id"] for s in first["sessions"]] == ["c4", "c1"] and first["total"] == 2
    export = await query.client.get("/v1/sessions/export", params={"model": "m0", "project": "/a"})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["session_id"] for row in rows] == ["c2", "c0"]


async def test_server_sort_pages_through_every_session_once(query: QueryApp) -> None:
    await query.store.write(costed_sessions())
    assert await all_ids(query, sort="cost") == ["c4", "c2", "c0", "c1", "c3"]
    assert await all_ids(query, sort="cost", dir="asc") == ["c3", "c1", "c0", "c2", "c4"]
    assert await all_ids(query, sort="tokens") == ["c1", "c4", "c0", "c2", "c3"]
    assert await all_ids(query, sort="errors", dir="asc") == ["c0", "c3", "c2", "c1", "c4"]
    assert await all_ids(query, sort="started", dir="asc") == ["c0", "c1", "c2", "c3", "c4"]
    assert await all_ids(query) == ["c4", "c3", "c2", "c1", "c0"]


async def test_several_models_select_the_sessions_of_any_of_them(query: QueryApp) -> None:
    """The Costs page's model row links every name of one model: `model` repeated."""
    await query.store.write(conversation() + other_sessions() + costed_sessions())
    several: Params = [("model", "m1"), ("model", "claude-sonnet-4-6"), ("model", "m1")]
    assert await all_ids(query, model=["m1", "claude-sonnet-4-6", "m1"]) == ["c1", "s1"]
    first = (await query.client.get("/v1/sessions", params=several)).json()
    assert first["total"] == 2
    export = await query.client.get("/v1/sessions/export", params=[*several, ("project", "/b")])
    assert [row["session_id"] for row in csv.DictReader(io.StringIO(export.text))] == ["c1"]


async def test_hostile_model_lists_are_400_naming_the_parameter(query: QueryApp) -> None:
    hostile: list[Params] = [
        [("model", "m0"), ("model", "")],
        [("model", "m0"), ("model", " \t")],
        [("model", "m0"), ("model", "m\x001")],
        [("model", "m0"), ("model", "m" * 5000)],
        [("model", f"m{i}") for i in range(51)],
    ]
    for path in ("/v1/sessions", "/v1/sessions/export"):
        for params in hostile:
            response = await query.client.get(path, params=params)
            assert response.status_code == 400, (path, params[-1], response.text[:200])
            assert "'model'" in response.json()["error"], response.text[:200]
    fifty: Params = [("model", f"m{i}") for i in range(50)]
    assert (await query.client.get("/v1/sessions", params=fifty)).status_code == 200
