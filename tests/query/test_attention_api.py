"""/v1/attention and its acknowledgements through the query API, on both stores."""

from __future__ import annotations

from typing import Any

from agentmon.csrf import CREDENTIAL, forged_change
from tests.query.conftest import QueryApp
from tests.store.test_attention_acks import fleet

ACK = "/v1/attention/{}/{}/ack"
CSRF = {"x-agentmon-csrf": "1"}


async def attention(query: QueryApp, **params: Any) -> dict[str, Any]:
    response = await query.client.get("/v1/attention", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def group(found: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(g for g in found["groups"] if g["kind"] == kind)


async def test_every_kind_is_a_group_most_urgent_first(query: QueryApp) -> None:
    await query.store.write(fleet())
    found = await attention(query)
    assert found["window"] == "24h"
    assert [g["kind"] for g in found["groups"]] == ["waiting", "stuck", "looping", "lost", "error"]
    waiting = group(found, "waiting")["items"][0]
    assert waiting["session"]["waiting_message"] == "Allow Bash: rm -rf build/ ?"
    assert waiting["acknowledged"] is None and waiting["id"] == "asks"
    assert [i["id"] for i in group(found, "error")["items"]] == ["broke"]
    older = await attention(query, since="2000-01-01T00:00:00Z")
    assert older["window"] is None
    assert sorted(i["id"] for i in group(older, "error")["items"]) == ["broke", "long-ago"]
    assert group(await attention(query, window="1h"), "error")["open"] == 1


async def test_an_acknowledgement_is_seen_by_every_reader(query: QueryApp) -> None:
    await query.store.write(fleet())
    response = await query.client.post(ACK.format("error", "broke"), headers=CSRF)
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged"]["by"] == "anonymous"
    failed = group(await attention(query), "error")
    assert (failed["open"], failed["acknowledged"]) == (0, 1)
    assert failed["items"][0]["acknowledged"]["at"].endswith("Z")
    reopened = await query.client.delete(ACK.format("error", "broke"), headers=CSRF)
    assert reopened.status_code == 200 and reopened.json()["acknowledged"] is None
    assert group(await attention(query), "error")["open"] == 1


async def test_bad_acknowledgements_are_refused_with_the_reason(query: QueryApp) -> None:
    await query.store.write(fleet())
    cases = [
        ("failed", "broke", 400, "kind"),
        ("error", "nobody", 404, "nobody"),
        ("stuck", "busy", 409, "it is active"),
        ("error", "x%00y", 400, "NUL"),
        ("error", "x" * 2000, 400, "longer than"),
    ]
    for kind, item, status, words in cases:
        response = await query.client.post(ACK.format(kind, item), headers=CSRF)
        assert response.status_code == status, (kind, item, response.text)
        assert words in response.json()["error"]
    foreign = await query.client.post(
        ACK.format("error", "broke"), headers={**CSRF, "origin": "https://elsewhere.example"}
    )
    assert foreign.status_code == 403 and "Origin" in foreign.json()["error"]
    bare = await query.client.post(ACK.format("error", "broke"))
    assert bare.status_code == 403 and "X-Agentmon-CSRF" in bare.json()["error"]


async def test_bad_window_parameters_are_refused(query: QueryApp) -> None:
    for params, words in [
        ({"window": "2d"}, "window"),
        ({"since": "yesterday"}, "since"),
        ({"window": "1h", "since": "2026-01-01T00:00:00Z"}, "not both"),
        ({"limit": "0"}, "limit"),
    ]:
        response = await query.client.get("/v1/attention", params=params)
        assert response.status_code == 400 and words in response.json()["error"], params


def test_a_browser_change_needs_its_own_origin_and_the_csrf_header() -> None:
    def scope(credential: str | None, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {
            "method": "POST",
            "headers": [(b"host", b"mon:8082"), *headers],
            CREDENTIAL: credential,
        }

    same = (b"origin", b"http://mon:8082")
    token = (b"x-agentmon-csrf", b"1")
    evil = (b"origin", b"https://evil.example")
    assert forged_change(scope("bearer", evil)) is None
    assert forged_change(scope(None, token)) is None  # a script without keys configured
    assert forged_change(scope(None, same, token)) is None
    assert forged_change(scope("cookie", (b"origin", b"null"), token)) is None
    assert "Origin" in (forged_change(scope(None, evil, token)) or "")
    assert "X-Agentmon-CSRF" in (forged_change(scope("cookie", same)) or "")
    assert "X-Agentmon-CSRF" in (forged_change(scope(None, (b"origin", b"null"))) or "")
    assert forged_change(scope("cookie", same, token)) is None
    assert forged_change({**scope("cookie"), "method": "GET"}) is None
