"""Each secret kind through each ingest path of a running `agentmon serve`: native POST,
the ingest WebSocket, OTLP from the real OpenTelemetry SDK exporter and a hook handler
command. Checked where it could leak: every row of the SQLite file, the query API's answers
and the live feed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from websockets.sync.client import ClientConnection, connect

from agentmon.events import new_event, to_dict
from tests.conftest import ServerProcess, start_embedded, wait_until

from .samples import Sample, payload_with_every_sample, samples

SAMPLES = samples()
EMPLOYEE_ID = "EMP-314159"  # matched by the user's own pattern below
BIN = Path(sys.executable).parent


def sqlite_dump(data_dir: Path) -> str:
    """Every row of every table (events and read models), as SQL text."""
    with sqlite3.connect(f"file:{data_dir / 'agentmon.db'}?mode=ro", uri=True) as conn:
        return "\n".join(conn.iterdump())


def assert_redacted(text: str, expected: list[Sample], where: str) -> None:
    leaked = [sample.kind for sample in expected if sample.secret in text]
    assert not leaked, f"secrets of kinds {leaked} reached {where}"
    missing = [sample.marker for sample in expected if sample.marker not in text]
    assert not missing, f"{where} lacks the markers {missing}"


class LiveFeed:
    """A viewer of the query API's live WebSocket, collecting frames in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        assert json.loads(self.ws.recv(timeout=10))["type"] == "hello"
        self.frames: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for frame in self.ws:
                self.frames.append(str(frame))
        except Exception:  # closed at the end of the test
            return

    def text_of(self, session: str, wanted: int) -> str:
        def events() -> list[Any]:
            found = []
            for frame in list(self.frames):
                message = json.loads(frame)
                if message.get("type") == "events":
                    found += [
                        e
                        for e in message["events"]
                        if e["correlation"].get("session_id") == session
                    ]
            return found

        wait_until(lambda: len(events()) >= wanted, 20, f"{wanted} live events of {session}")
        return json.dumps(events())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("redaction")
    patterns = root / "patterns"
    patterns.write_text("employee-id = \\bEMP-[0-9]{6}\\b\n")
    started = start_embedded(root / "data", env={"AGENTMON_REDACT_PATTERNS": str(patterns)})
    yield started
    started.stop()


@pytest.fixture
def live(server: ServerProcess) -> Iterator[LiveFeed]:
    with connect(server.query_url.replace("http", "ws", 1) + "/v1/ws", max_size=None) as ws:
        yield LiveFeed(ws)


def api_text(server: ServerProcess, session: str, wanted: int) -> str:
    def events() -> list[Any]:
        answer = httpx.get(f"{server.query_url}/v1/events", params={"session_id": session})
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]

    wait_until(lambda: len(events()) >= wanted, 20, f"{wanted} stored events of {session}")
    detail = httpx.get(f"{server.query_url}/v1/sessions/{session}").text
    return json.dumps(events()) + detail


def envelope_with_every_sample(session: str) -> dict[str, Any]:
    return to_dict(
        new_event(
            "span.start",
            framework="pytest",
            session_id=session,
            run_id=f"{session}-run",
            span_id=str(uuid.uuid4()),
            payload={**payload_with_every_sample(SAMPLES), "badge": EMPLOYEE_ID},
            attributes={"http.request.header.authorization": SAMPLES[9].text},
        )
    )


EVERY_KIND = [*SAMPLES, Sample("employee-id", EMPLOYEE_ID, EMPLOYEE_ID)]


def check_everywhere(server: ServerProcess, live: LiveFeed, session: str, wanted: int) -> None:
    assert_redacted(live.text_of(session, wanted), EVERY_KIND, "the live feed")
    assert_redacted(api_text(server, session, wanted), EVERY_KIND, "the query API")
    assert server.data_dir is not None
    assert_redacted(sqlite_dump(server.data_dir), EVERY_KIND, "the SQLite file")


def test_native_post(server: ServerProcess, live: LiveFeed) -> None:
    session = f"post-{uuid.uuid4()}"
    answer = httpx.post(
        f"{server.ingest_url}/v1/events", json=[envelope_with_every_sample(session)]
    )
    assert answer.json() == {"accepted": 1, "rejected": []}
    check_everywhere(server, live, session, 1)


def test_ingest_websocket(server: ServerProcess, live: LiveFeed) -> None:
    session = f"ws-{uuid.uuid4()}"
    with connect(server.ingest_url.replace("http", "ws", 1) + "/v1/ws") as ws:
        ws.send(json.dumps([envelope_with_every_sample(session)]))
        assert json.loads(ws.recv(timeout=10)) == {"accepted": 1, "rejected": []}
    check_everywhere(server, live, session, 1)


def test_otlp_from_the_opentelemetry_sdk(server: ServerProcess, live: LiveFeed) -> None:
    conversation = f"otlp-{uuid.uuid4()}"
    provider = TracerProvider(resource=Resource.create({"service.name": "claude-code"}))
    exporter = OTLPSpanExporter(endpoint=f"{server.otlp_url}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("redaction")
    attributes = {f"tool.arg.{i}": sample.text for i, sample in enumerate(SAMPLES)}
    with tracer.start_as_current_span(
        "execute_tool Bash",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "Bash",
            "gen_ai.conversation.id": conversation,
            "gen_ai.tool.call.arguments": json.dumps({"badge": EMPLOYEE_ID}),
            **attributes,
        },
    ):
        pass
    provider.shutdown()
    check_everywhere(server, live, conversation, 1)


def test_a_hook_handler_command(server: ServerProcess, live: LiveFeed, tmp_path: Path) -> None:
    session = str(uuid.uuid4())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMON_")}
    env.update(
        AGENTMON_INGEST_URL=server.ingest_url,
        AGENTMON_SPOOL_DIR=str(tmp_path / "spool"),
        AGENTMON_STATE_DIR=str(tmp_path / "state"),
        AGENTMON_HOOK_LOG=str(tmp_path / "hooks.log"),
    )

    def claude(name: str, **fields: Any) -> None:
        payload = {"session_id": session, "cwd": "/src", "hook_event_name": name, **fields}
        subprocess.run(
            [str(BIN / "agentmon-claude-handler")],
            input=json.dumps(payload),
            env=env,
            text=True,
            check=True,
            timeout=30,
        )

    claude("SessionStart", source="startup", model="claude-sonnet-4-6")
    claude("UserPromptSubmit", prompt=" ".join(s.text for s in SAMPLES[:6]))
    tool_input = {"command": " && ".join(s.text for s in SAMPLES[6:]), "badge": EMPLOYEE_ID}
    claude("PreToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id="toolu_1")
    check_everywhere(server, live, session, 3)


def test_turned_off_secrets_are_stored_as_sent(tmp_path: Path) -> None:
    server = start_embedded(tmp_path / "data", env={"AGENTMON_REDACT": "off"})
    try:
        session = f"off-{uuid.uuid4()}"
        event = envelope_with_every_sample(session)
        assert httpx.post(f"{server.ingest_url}/v1/events", json=[event]).status_code == 200
        text = api_text(server, session, 1)
        assert all(sample.secret in text for sample in SAMPLES)
        assert "[redacted:" not in text
    finally:
        server.stop()


def test_a_bad_pattern_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    patterns.write_text("broken = (\n")
    command = [sys.executable, "-m", "agentmon", "serve", "--data-dir", str(tmp_path / "d")]
    result = subprocess.run(
        command,
        env={**os.environ, "AGENTMON_REDACT_PATTERNS": str(patterns)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"{patterns} line 1: '(' is not a regular expression" in result.stderr
