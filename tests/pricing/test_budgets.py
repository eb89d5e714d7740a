"""Budgets: the file and the API, what each has spent in its period, and one webhook per
budget and period when it is crossed, however many processors look."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentmon.alerts import AlertNotifier, BudgetWatch
from agentmon.events import Envelope, new_event, to_dict
from agentmon.store import Store
from agentmon.store.budgets import (
    Budget,
    BudgetProblem,
    load_budget_file,
    period_bounds,
    put_budget,
    use_budget_file,
)
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore
from tests.query.conftest import QueryApp

SONNET_CALL_USD = 0.0045  # 1,000 in + 100 out at $3 / $15 per million


def sonnet_call(framework: str, session: str, host: str = "laptop") -> Envelope:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    return new_event(
        "metric.snapshot",
        framework=framework,
        host=host,
        session_id=session,
        payload={"model": "claude-sonnet-4-6", "usage": usage},
    )


def test_periods_are_the_utc_day_and_month() -> None:
    now = int(datetime(2026, 12, 31, 23, 30, tzinfo=UTC).timestamp() * 1000)
    day = period_bounds("day", now)
    month = period_bounds("month", now)
    assert day == (
        int(datetime(2026, 12, 31, tzinfo=UTC).timestamp() * 1000),
        int(datetime(2027, 1, 1, tzinfo=UTC).timestamp() * 1000),
    )
    assert month[0] == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000)
    assert month[1] == day[1]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[[budget]]\nscope = 'team'\ntarget = 'x'\nperiod = 'day'\nlimit_usd = 1", "'scope'"),
        ("[[budget]]\nscope = 'agent'\ntarget = 'x'\nperiod = 'day'\nlimit_usd = 1", "agent"),
        (
            "[[budget]]\nscope = 'project'\ntarget = '/a'\nperiod = 'week'\nlimit_usd = 1",
            "'period'",
        ),
        ("[[budget]]\nscope = 'project'\ntarget = '/a'\nperiod = 'day'\nlimit_usd = 0", "above 0"),
        ("[[budget]]\nscope = 'project'\ntarget = '/a'\nperiod = 'day'\nlimit_usd = 'x'", "number"),
        ("[[budget]]\nscope = 'project'\ntarget = ''\nperiod = 'day'\nlimit_usd = 1", "'target'"),
        ("[[budget]]\nscope = 'project'\ntarget = '/a'\nperiod = 'day'\nlimit = 1", "'limit'"),
        ("budget = 3", "[[budget]]"),
        ("[[budget", "budgets.toml"),
    ],
)
def test_a_bad_budget_file_names_what_is_wrong(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(BudgetProblem, match=named.replace("[", r"\[")):
        load_budget_file(path)


def test_a_bad_budget_file_stops_the_server_naming_the_setting(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "budgets.toml"
    path.write_text("[[budget]]\nscope = 'fleet'\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentmon", "config"],
        env={"AGENTMON_BUDGETS": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "AGENTMON_BUDGETS" in done.stderr


async def two_watchers(store_of: Callable[[], Store], url: str) -> list[int]:
    """Two processors' budget watches over one database, checking at the same moment."""
    stores = [store_of(), store_of()]
    for store in stores:
        await store.open()
    notifiers = [AlertNotifier(url) for _ in stores]
    senders = [asyncio.create_task(n.run()) for n in notifiers]
    try:
        watches = [BudgetWatch(s, n.queue) for s, n in zip(stores, notifiers, strict=True)]
        counts = await asyncio.gather(*(w.check() for w in watches))
        again = await asyncio.gather(*(w.check() for w in watches))  # still over: no repeat
        await asyncio.sleep(1.0)  # let the queued POSTs go out
        return [*counts, *again]
    finally:
        for sender in senders:
            sender.cancel()
        for store in stores:
            await store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_crossed_budget_fires_one_webhook_however_many_processors_look(
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook
    if kind == "sqlite":
        dsn = str(tmp_path / "budgets.db")

        def store_of() -> Store:
            return SQLiteStore(Path(dsn))
    else:
        dsn = request.getfixturevalue("make_database")()

        def store_of() -> Store:
            return PostgresStore(dsn)

    setup = store_of()
    await setup.open()
    await setup.write([sonnet_call("codex", "s1"), sonnet_call("codex", "s2")])
    await setup.write([sonnet_call("hermes", "s3")])
    await put_budget(setup, Budget("framework", "codex", "day", 0.005))  # spent 0.009: over
    await put_budget(setup, Budget("framework", "hermes", "month", 1.0))  # spent 0.0045: ok
    await setup.close()

    counts = await two_watchers(store_of, url)
    assert sorted(counts) == [0, 0, 0, 1]
    assert len(received) == 1
    alert = received[0]
    assert alert["kind"] == "budget"
    assert alert["budget"]["target"] == "codex" and alert["budget"]["state"] == "over"
    assert alert["budget"]["spent_usd"] == pytest.approx(2 * SONNET_CALL_USD)
    assert "Budget crossed: framework codex spent $0.01 today" in alert["text"]


async def test_budgets_through_the_api(query: QueryApp) -> None:
    await query.store.write(
        [sonnet_call("claude-code", "a1"), sonnet_call("claude-code", "a2", host="ci")]
    )
    budget = {"scope": "agent", "target": "claude-code/laptop", "period": "day", "limit_usd": 1}
    put = await query.client.put("/v1/budgets", json=budget)
    assert put.status_code == 200, put.text
    status = put.json()
    assert status["spent_usd"] == pytest.approx(SONNET_CALL_USD)  # laptop's call only
    assert status["state"] in ("ok", "warning") and status["source"] == "api"
    assert status["projected_usd"] >= status["spent_usd"]

    raised = await query.client.put("/v1/budgets", json={**budget, "limit_usd": 0.001})
    assert raised.json()["state"] == "over"
    listed = (await query.client.get("/v1/budgets")).json()["budgets"]
    assert [(b["budget_id"], b["limit_usd"]) for b in listed] == [
        ("agent:day:claude-code/laptop", 0.001)
    ]
    costs = (await query.client.get("/v1/costs", params={"range": "24h"})).json()
    assert [b["budget_id"] for b in costs["budgets"]] == ["agent:day:claude-code/laptop"]

    params = {"scope": "agent", "target": "claude-code/laptop", "period": "day"}
    assert (await query.client.delete("/v1/budgets", params=params)).status_code == 204
    assert (await query.client.delete("/v1/budgets", params=params)).status_code == 404
    assert (await query.client.get("/v1/budgets")).json()["budgets"] == []


async def test_a_file_budget_is_shown_and_not_changed_through_the_api(
    query: QueryApp, tmp_path: Path
) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text(
        "[[budget]]\nscope = 'project'\ntarget = '/src/shop'\nperiod = 'month'\nlimit_usd = 50\n"
    )
    use_budget_file(path)
    try:
        listed = (await query.client.get("/v1/budgets")).json()["budgets"]
        assert [(b["budget_id"], b["source"]) for b in listed] == [
            ("project:month:/src/shop", "file")
        ]
        same = {"scope": "project", "target": "/src/shop", "period": "month", "limit_usd": 5}
        refused = await query.client.put("/v1/budgets", json=same)
        assert refused.status_code == 409 and "AGENTMON_BUDGETS" in refused.json()["error"]
    finally:
        use_budget_file(None)


GOOD = {"scope": "framework", "target": "codex", "period": "day", "limit_usd": 5}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**GOOD, "scope": "team"}, "scope"),
        ({**GOOD, "period": "week"}, "period"),
        ({**GOOD, "limit_usd": -1}, "limit_usd"),
        ({**GOOD, "limit_usd": 0}, "limit_usd"),
        ({**GOOD, "limit_usd": 1e308}, "limit_usd"),
        ({**GOOD, "limit_usd": "five"}, "limit_usd"),
        ({**GOOD, "target": ""}, "target"),
        ({**GOOD, "target": "x" * 2000}, "target"),
        ({**GOOD, "target": "a\x00b"}, "NUL"),
        ({**GOOD, "scope": "agent", "target": "laptop"}, "framework/client"),
        ({k: v for k, v in GOOD.items() if k != "target"}, "target"),
        ([GOOD], "body"),
        ("not json", "body"),
    ],
)
async def test_a_bad_budget_gets_a_400_naming_the_field(
    query: QueryApp, body: Any, named: str
) -> None:
    response = await query.client.put(
        "/v1/budgets",
        content=body if isinstance(body, str) else None,
        json=None if isinstance(body, str) else body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "agent", "period": "day"},
        {"scope": "team", "target": "x", "period": "day"},
        {"scope": "agent", "target": "x", "period": "decade"},
        {"scope": "agent", "target": "", "period": "day"},
    ],
)
async def test_a_bad_budget_delete_gets_a_400(query: QueryApp, params: dict[str, str]) -> None:
    assert (await query.client.delete("/v1/budgets", params=params)).status_code == 400


def test_a_budget_crossing_fires_one_webhook_from_a_real_server(
    make_embedded_server: Any, webhook: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = webhook
    framework = f"budget-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "budgets.toml"
    path.write_text(
        f"[[budget]]\nscope = 'framework'\ntarget = '{framework}'\nperiod = 'day'\n"
        "limit_usd = 0.01\n"
    )
    server = make_embedded_server(
        env={"AGENTMON_ALERT_WEBHOOK": url, "AGENTMON_BUDGETS": str(path)}
    )

    def send(count: int) -> None:
        events = [to_dict(sonnet_call(framework, f"{framework}-{i}")) for i in range(count)]
        response = httpx.post(f"{server.ingest_url}/v1/events", json=events)
        assert response.json()["accepted"] == count

    send(2)  # $0.009: under
    time.sleep(2.5)
    assert [a for a in received if a["kind"] == "budget"] == []
    send(1)  # $0.0135: crossed
    deadline = time.monotonic() + 15
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    send(3)  # still over: no second alert this day
    time.sleep(3)
    budget_alerts = [a for a in received if a["kind"] == "budget"]
    assert len(budget_alerts) == 1
    assert budget_alerts[0]["budget"]["budget_id"] == f"framework:day:{framework}"
    shown = httpx.get(f"{server.query_url}/v1/budgets").json()["budgets"]
    assert shown[0]["state"] == "over" and shown[0]["source"] == "file"
