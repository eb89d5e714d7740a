"""`GET /v1/costs` over a real store: the range it answers, and a clear 400 naming the
parameter for anything it cannot use (never a 5xx)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.query.conftest import QueryApp
from tests.store.test_costs import mixed_session, unknown_session


async def test_costs_answer_the_range_asked_for(query: QueryApp) -> None:
    await query.store.write(mixed_session() + unknown_session())
    body = (await query.client.get("/v1/costs", params={"range": "24h"})).json()
    assert body["bucket"] == "hour" and body["bucket_seconds"] == 3600
    assert body["total"]["calls"] == 4 and body["total"]["cost_source"] == "mixed"
    assert {m["model"] for m in body["by_model"]} == {"claude-sonnet-4-6", "house-model-7"}

    week = (await query.client.get("/v1/costs")).json()  # default: the last 7 days, by day
    assert (week["bucket"], len(week["series"])) == ("day", 8)
    assert week["total"] == body["total"]

    end = datetime.now(UTC)
    hourly = await query.client.get(
        "/v1/costs",
        params={
            "from": (end - timedelta(days=10)).isoformat(),
            "to": end.isoformat(),
            "bucket": "hour",
            "top": 1,
        },
    )
    assert hourly.status_code == 200
    assert len(hourly.json()["top_sessions"]) == 1


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "yesterday"}, "'from'"),
        ({"to": "2026-13-01T00:00:00Z"}, "'to'"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "'from'"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "400 days"),
        ({"range": "2y"}, "'range'"),
        ({"bucket": "minute"}, "'bucket'"),
        ({"from": "2026-10-01T00:00:00Z", "to": "2026-11-15T00:00:00Z", "bucket": "hour"}, "31"),
        ({"top": "0"}, "'top'"),
        ({"top": "1e9"}, "'top'"),
        ({"from": "2026-11-01T00:00:00Z\x00"}, "NUL"),
        ({"to": "9" * 5000}, "longer than"),
        ({"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"}, "400 days"),
    ],
)
async def test_bad_cost_parameters_get_a_400_naming_them(
    query: QueryApp, params: dict[str, str], named: str
) -> None:
    response = await query.client.get("/v1/costs", params=params)
    assert response.status_code == 400, response.text[:300]
    assert named in response.json()["error"]
