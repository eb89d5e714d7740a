"""Alerts reach a real webhook: once per kind and session within the cooldown."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agentmon.alerts import alert_for
from agentmon.events import new_event, to_dict


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_waiting_failed_runs_and_errors_alert_once_each(
    make_embedded_server: Any, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    server = make_embedded_server(env={"AGENTMON_ALERT_WEBHOOK": url})
    session = str(uuid.uuid4())
    common: dict[str, Any] = {"framework": "claude-code", "host": "laptop", "session_id": session}
    waiting = {"agent_state": "waiting_for_human", "waiting_reason": "permission_prompt"}
    events = [
        new_event(
            "metric.snapshot", payload={**waiting, "message": "Allow Bash: rm -rf build?"}, **common
        ),
        new_event("metric.snapshot", payload=waiting, **common),  # same kind again: cooled down
        new_event("error", run_id="r", payload={"message": "Read: File does not exist."}, **common),
        new_event(
            "run.end", run_id="r", payload={"status": "error", "error": "rate limited"}, **common
        ),
        new_event("run.end", run_id="r2", payload={"status": "ok"}, **common),  # no alert
    ]
    response = httpx.post(f"{server.ingest_url}/v1/events", json=[to_dict(e) for e in events])
    assert response.json()["accepted"] == 5
    deadline = time.monotonic() + 10
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more arrives
    assert sorted(a["kind"] for a in received) == ["error", "run_failed", "waiting_for_human"]
    waiting_alert = next(a for a in received if a["kind"] == "waiting_for_human")
    assert waiting_alert["session_id"] == session and waiting_alert["host"] == "laptop"
    assert (
        "waiting for a human (permission_prompt): Allow Bash: rm -rf build?"
        in waiting_alert["text"]
    )


def test_ordinary_events_raise_no_alert() -> None:
    for kind in ("session.start", "run.start", "span.end", "metric.snapshot"):
        assert alert_for(new_event(kind, framework="x", session_id="s")) is None
