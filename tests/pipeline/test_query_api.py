"""The query API over a real embedded server: filters, errors, OpenAPI, live feed."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from agentmon.events import new_event, to_dict


def send(server: Any, *events: Any) -> None:
    response = httpx.post(f"{server.ingest_url}/v1/events", json=[to_dict(e) for e in events])
    assert response.json()["rejected"] == []


def get(server: Any, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.query_url}{path}", params=params)


@pytest.fixture
def session(embedded_server: Any) -> str:
    session_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    common: dict[str, Any] = {"framework": "query-test", "host": "qhost", "session_id": session_id}
    send(
        embedded_server,
        new_event("session.start", payload={"title": "query me"}, **common),
        new_event("run.start", run_id=run_id, payload={"input": "hello"}, **common),
        new_event(
            "span.start",
            run_id=run_id,
            span_id=f"{run_id}-t",
            payload={"kind": "tool", "name": "Grep"},
            **common,
        ),
        new_event(
            "span.end",
            run_id=run_id,
            span_id=f"{run_id}-t",
            payload={"kind": "tool", "name": "Grep", "status": "ok"},
            **common,
        ),
        new_event("run.end", run_id=run_id, payload={"status": "ok"}, **common),
    )
    return session_id


def test_session_and_run_detail(embedded_server: Any, session: str) -> None:
    detail = get(embedded_server, f"/v1/sessions/{session}").json()
    assert detail["session"]["title"] == "query me"
    [run] = detail["runs"]
    run_detail = get(embedded_server, f"/v1/runs/{run['run_id']}").json()
    assert [s["name"] for s in run_detail["spans"]] == ["Grep"]


def test_filters_select_sessions(embedded_server: Any, session: str) -> None:
    found = get(embedded_server, "/v1/sessions", framework="query-test", host="qhost").json()
    assert session in [s["session_id"] for s in found["sessions"]]
    assert get(embedded_server, "/v1/sessions", framework="nobody").json() == {
        "sessions": [],
        "next_cursor": None,
        "total": 0,
        "total_capped": False,
    }
    events = get(
        embedded_server, "/v1/events", event_type="run.end", framework="query-test"
    ).json()["events"]
    assert events and all(e["event"]["type"] == "run.end" for e in events)


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/sessions", {"limit": "lots"}, "'limit'"),
        ("/v1/sessions", {"limit": 0}, "'limit'"),
        ("/v1/sessions", {"status": "sleeping"}, "'status'"),
        ("/v1/sessions", {"from": "last week"}, "'from'"),
        ("/v1/sessions", {"cursor": "bogus"}, "'cursor'"),
        ("/v1/events", {"event_type": "span.middle"}, "'event_type'"),
        ("/v1/events", {"limit": 5000}, "'limit'"),
        ("/v1/stats/timeseries", {"window": "2h"}, "'window'"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    embedded_server: Any, path: str, params: dict[str, Any], named: str
) -> None:
    response = get(embedded_server, path, **params)
    assert response.status_code == 400
    assert named in response.json()["error"]


@pytest.mark.parametrize(
    "path", ["/v1/sessions/no-such", "/v1/runs/no-such", "/v1/openclaw/instances/no-such/history"]
)
def test_unknown_ids_are_404(embedded_server: Any, path: str) -> None:
    response = get(embedded_server, path)
    assert response.status_code == 404
    assert "no-such" in response.json()["error"]


def test_stats_answer(embedded_server: Any, session: str) -> None:
    summary = get(embedded_server, "/v1/stats/summary").json()
    assert summary["timezone"] == "UTC" and summary["by_framework"]["query-test"]["tool_calls"] >= 1
    for window, points in (("1h", 60), ("6h", 72), ("24h", 96), ("7d", 168)):
        series = get(embedded_server, "/v1/stats/timeseries", window=window).json()
        assert len(series["points"]) == points
    assert (
        sum(p["events"] for p in get(embedded_server, "/v1/stats/timeseries").json()["points"]) >= 5
    )
    assert "Grep" in [t["name"] for t in get(embedded_server, "/v1/stats/tools").json()["tools"]]
    assert "query-test" in get(embedded_server, "/v1/facets").json()["frameworks"]


def test_openapi_and_docs_are_served(embedded_server: Any) -> None:
    spec = get(embedded_server, "/openapi.json").json()
    assert "/v1/sessions/{session_id}" in spec["paths"]
    assert get(embedded_server, "/docs").status_code == 200


def test_metrics_are_exposed(embedded_server: Any, session: str) -> None:
    text = httpx.get(f"{embedded_server.ingest_url}/metrics").text
    assert "agentmon_ingest_events_accepted_total" in text
    assert "agentmon_processor_batch_events_bucket" in text


def test_live_feed_delivers_stored_events_with_filters(embedded_server: Any) -> None:
    session_id = str(uuid.uuid4())
    url = embedded_server.query_url.replace("http", "ws") + f"/v1/ws?session_id={session_id}"
    with connect(url) as ws:
        assert json.loads(ws.recv())["type"] == "hello"
        send(
            embedded_server,
            new_event("session.start", framework="other", session_id=str(uuid.uuid4())),
        )
        sent_at = time.monotonic()
        send(
            embedded_server,
            new_event("session.start", framework="live-test", session_id=session_id),
        )
        frame = json.loads(ws.recv(timeout=5))
        assert time.monotonic() - sent_at < 5
        assert frame["type"] == "events"
        assert [e["correlation"]["session_id"] for e in frame["events"]] == [session_id]
        ws.send(json.dumps({"type": "filter", "framework": "live-filter"}))
        time.sleep(0.2)
        send(
            embedded_server,
            new_event("session.start", framework="live-filter", session_id=str(uuid.uuid4())),
        )
        assert (
            json.loads(ws.recv(timeout=5))["events"][0]["event"]["source"]["framework"]
            == "live-filter"
        )


def test_retention_runs_in_the_embedded_server(make_embedded_server: Any) -> None:
    server = make_embedded_server(
        env={"AGENTMON_RETENTION_DAYS": "1", "AGENTMON_RETENTION_INTERVAL": "1s"}
    )
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    send(
        server,
        new_event("session.start", framework="retention", session_id=old, ts=three_days_ago),
        new_event("session.start", framework="retention", session_id=new),
    )
    deadline = time.monotonic() + 15
    while get(server, f"/v1/sessions/{old}").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert get(server, f"/v1/sessions/{old}").status_code == 404
    assert get(server, f"/v1/sessions/{new}").status_code == 200


def test_a_taken_port_is_one_clear_error(tmp_path: Any) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "agentmon",
                "serve",
                "--data-dir",
                str(tmp_path),
                "--addr",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert f"ingest-gateway cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "AGENTMON_ADDR" in result.stderr and "Traceback" not in result.stderr
