"""``agentmon import`` posts the events of consecutive sessions together (a history of many
short sessions costs a POST per full batch, not one per session), and a problem with some
events names the files they came from, not their neighbours'."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentmon.importer.command import import_history

REFUSED_SESSION = "00000000-0000-4000-8000-000000000003"


class Gateway(ThreadingHTTPServer):
    """Takes every batch, except one holding an event of `REFUSED_SESSION` (a 400)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[list[dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        batch = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.posts.append(batch)
        refused = any(e["correlation"]["session_id"] == REFUSED_SESSION for e in batch)
        body = b'{"error": "refused"}' if refused else b'{"accepted": %d}' % len(batch)
        self.send_response(400 if refused else 202)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def write_sessions(projects: Path, count: int) -> None:
    """`count` one-prompt Claude Code sessions (fields as in the transcripts spec)."""
    folder = projects / "-home-ada-app"
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        session = f"00000000-0000-4000-8000-{number:012d}"
        prompt = {"type": "user", "uuid": f"u{number}", "sessionId": session,
                  "timestamp": "2026-08-20T09:00:00.000Z", "cwd": "/home/ada/app",
                  "message": {"role": "user", "content": f"Prompt {number}"}}  # fmt: skip
        (folder / f"{session}.jsonl").write_text(json.dumps(prompt) + "\n")


def test_sessions_share_posts_and_a_refusal_names_its_file(
    gateway: Gateway, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "projects", 5)
    summary = import_history(
        "claude-code", tmp_path / "projects", None, gateway.url, False, io.StringIO()
    )
    assert summary.sessions == 5
    sessions_per_post = [len({e["correlation"]["session_id"] for e in b}) for b in gateway.posts]
    assert sessions_per_post[0] == 5  # the first POST carries every session's events
    refused_file = f"{REFUSED_SESSION}.jsonl"
    assert len(summary.problems) == 1 and refused_file in summary.problems[0]
    assert "event(s) refused" in summary.problems[0]
    assert all("000000000001" not in problem for problem in summary.problems)
    per_session = summary.events // 5
    assert summary.delivered == summary.events - per_session
