"""/v1/alerts and its acknowledgements through the query API, on both stores."""

from __future__ import annotations

from typing import Any

from agentmon.store.alert_history import record
from tests.query.conftest import QueryApp

CSRF = {"x-agentmon-csrf": "1"}
DAY_MS = 86_400_000
NOW_MS = 1_780_000_000_000  # 2026-05-28


async def history(query: QueryApp) -> list[int]:
    """Five alerts a day apart, oldest first; their ids."""
    made = [
        ("stuck", "session", "s1", "claude-code on laptop has a run open", "delivered"),
        ("vm_disk", "vm", "vm-a", "VM vm-a disk is 95% used (alert at 90%)", "no_webhook"),
        ("budget", "budget", "agent:day:a", "Budget crossed", "failed"),
        ("vm_down", "vm", "vm-b", "VM vm-b is shutoff", "pending"),
        ("looping", "session", "s2", "repeats the same tool call", "delivered"),
    ]
    return [
        await record(query.store, kind, subject_type, subject, text, delivery, NOW_MS + i * DAY_MS)  # type: ignore[arg-type]
        for i, (kind, subject_type, subject, text, delivery) in enumerate(made)
    ]


async def listed(query: QueryApp, **params: Any) -> dict[str, Any]:
    response = await query.client.get("/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_alerts_are_listed_newest_first_and_filtered(query: QueryApp) -> None:
    ids = await history(query)
    found = await listed(query)
    assert [a["id"] for a in found["alerts"]] == ids[::-1] and found["next_before"] is None
    disk = next(a for a in found["alerts"] if a["kind"] == "vm_disk")
    assert disk["subject_type"] == "vm" and disk["subject"] == "vm-a"
    assert disk["delivery"] == "no_webhook" and disk["delivered"] is False
    assert disk["fired_at"].startswith("2026-05-29") and disk["acknowledged"] is None
    assert [a["kind"] for a in (await listed(query, kind="vm_down"))["alerts"]] == ["vm_down"]
    since = (await listed(query, since="2026-05-30T00:00:00Z"))["alerts"]
    assert [a["kind"] for a in since] == ["looping", "vm_down", "budget"]


async def test_alerts_page_with_before(query: QueryApp) -> None:
    ids = await history(query)
    first = await listed(query, limit=2)
    assert [a["id"] for a in first["alerts"]] == [ids[4], ids[3]]
    second = await listed(query, limit=2, before=first["next_before"])
    assert [a["id"] for a in second["alerts"]] == [ids[2], ids[1]]
    last = await listed(query, limit=2, before=second["next_before"])
    assert [a["id"] for a in last["alerts"]] == [ids[0]] and last["next_before"] is None


async def test_an_acknowledgement_is_kept_and_filtered_on(query: QueryApp) -> None:
    ids = await history(query)
    response = await query.client.post(f"/v1/alerts/{ids[1]}/ack", headers=CSRF)
    assert response.status_code == 200, response.text
    acked = response.json()
    assert acked["id"] == ids[1] and acked["acknowledged"]["by"] == "anonymous"
    assert acked["acknowledged"]["at"].endswith("Z")
    assert [a["id"] for a in (await listed(query, acknowledged="true"))["alerts"]] == [ids[1]]
    open_ = (await listed(query, acknowledged="false"))["alerts"]
    assert ids[1] not in [a["id"] for a in open_] and len(open_) == 4
    again = await query.client.post(f"/v1/alerts/{ids[1]}/ack", headers=CSRF)
    assert again.json()["acknowledged"] == acked["acknowledged"]


async def test_bad_acknowledgements_are_refused_with_the_reason(query: QueryApp) -> None:
    ids = await history(query)
    for path, status, words in [
        ("/v1/alerts/999999/ack", 404, "999999"),
        ("/v1/alerts/abc/ack", 400, "alert_id"),
        ("/v1/alerts/0/ack", 400, "alert_id"),
        ("/v1/alerts/-1/ack", 400, "alert_id"),
        ("/v1/alerts/99999999999999999999999/ack", 400, "alert_id"),
        ("/v1/alerts/1%00/ack", 400, "NUL"),
    ]:
        response = await query.client.post(path, headers=CSRF)
        assert response.status_code == status, (path, response.text)
        assert words in response.json()["error"], (path, response.text)
    foreign = await query.client.post(
        f"/v1/alerts/{ids[0]}/ack", headers={**CSRF, "origin": "https://elsewhere.example"}
    )
    assert foreign.status_code == 403 and "Origin" in foreign.json()["error"]
    bare = await query.client.post(f"/v1/alerts/{ids[0]}/ack")
    assert bare.status_code == 403 and "X-Agentmon-CSRF" in bare.json()["error"]
    assert (await listed(query, acknowledged="true"))["alerts"] == []


async def test_bad_list_parameters_are_refused(query: QueryApp) -> None:
    await history(query)
    for params, words in [
        ({"kind": "fire"}, "kind"),
        ({"since": "yesterday"}, "since"),
        ({"acknowledged": "maybe"}, "acknowledged"),
        ({"before": "0"}, "before"),
        ({"before": "x"}, "before"),
        ({"before": "9" * 30}, "before"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"kind": "x" * 5000}, "longer than"),
        ({"since": "2026\x00"}, "NUL"),
    ]:
        response = await query.client.get("/v1/alerts", params=params)
        assert response.status_code == 400, (params, response.text)
        assert words in response.json()["error"], (params, response.text)
