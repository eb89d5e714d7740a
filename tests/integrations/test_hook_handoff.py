"""How a hook hands its events over: to the spool before the session state moves on, then
(by default) to a sender it forks, so the hook returns without waiting for the gateway.
Real handler commands, a real embedded server."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from claude_transcripts import Transcript, write_session
from integration_helpers import BIN, HandlerRunner, QueryClient
from tests.conftest import wait_until

CLAUDE = "agentmon-claude-handler"


def claude(session: str, transcript: Path, name: str, **fields: Any) -> str:
    return json.dumps(
        {
            "session_id": session,
            "transcript_path": str(transcript),
            "cwd": "/home/ada/app",
            "hook_event_name": name,
            **fields,
        }
    )


def session_tokens(detail: dict[str, Any]) -> dict[str, int]:
    found = detail["session"]["tokens"]
    return {name: found[name] or 0 for name in ("input", "output", "cache_read", "cache_write")}


def spooled_events(spool: Path) -> list[dict[str, Any]]:
    """The events in the spool's batches, waiting or claimed by a sender."""
    batches = [path for path in spool.glob("*.json*") if not path.name.startswith(".")]
    return [event for path in batches for event in json.loads(path.read_text())]


@pytest.fixture
def background(run_handler: HandlerRunner) -> HandlerRunner:
    """The handlers as installed: delivery in the background (the default)."""
    del run_handler.env["AGENTMON_HOOK_DELIVERY"]
    return run_handler


@pytest.fixture
def silent_gateway() -> Iterator[str]:
    """A gateway that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_hook_returns_while_its_sender_waits_for_a_silent_gateway(
    background: HandlerRunner, silent_gateway: str, tmp_path: Path
) -> None:
    """The hook's pipes are free and its events on disk although the gateway has not
    answered (and would not within the hook's 60 s bound)."""
    background.env.update(AGENTMON_INGEST_URL=silent_gateway, AGENTMON_HOOK_TIMEOUT="60")
    session = str(uuid.uuid4())
    payload = claude(session, tmp_path / "none.jsonl", "UserPromptSubmit", prompt="Hello")
    result = subprocess.run(
        [str(BIN / CLAUDE)],
        input=payload,
        env=background.env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0
    events = spooled_events(Path(background.env["AGENTMON_SPOOL_DIR"]))
    assert [event["event"]["type"] for event in events] == ["session.start", "run.start"]
    assert {event["correlation"]["session_id"] for event in events} == {session}


def test_the_background_sender_delivers_every_call_once(
    background: HandlerRunner, server: Any, query: QueryClient, tmp_path: Path
) -> None:
    background.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = str(uuid.uuid4())
    transcript = tmp_path / f"{session}.jsonl"
    expected = write_session(Transcript(transcript, session))
    background(CLAUDE, claude(session, transcript, "Stop", stop_hook_active=False))
    background(CLAUDE, claude(session, transcript, "SessionEnd", reason="exit"))

    query.wait_for_session(
        session, lambda d: session_tokens(d) == expected and d["session"]["status"] == "ended"
    )
    spool = Path(background.env["AGENTMON_SPOOL_DIR"])
    wait_until(lambda: spooled_events(spool) == [], 15, "the senders to empty the spool")


def test_calls_nothing_took_are_read_again_by_the_next_hook(
    run_handler: HandlerRunner, server: Any, query: QueryClient, tmp_path: Path, unused_port: int
) -> None:
    """With the gateway down and the spool unwritable the hook keeps its transcript cursor,
    so the calls it could not hand over are still counted, by the next hook."""
    spool = Path(run_handler.env["AGENTMON_SPOOL_DIR"])
    spool.write_text("not a directory")
    run_handler.env["AGENTMON_INGEST_URL"] = f"http://127.0.0.1:{unused_port}"
    session = str(uuid.uuid4())
    transcript = tmp_path / f"{session}.jsonl"
    expected = write_session(Transcript(transcript, session))
    run_handler(CLAUDE, claude(session, transcript, "Stop", stop_hook_active=False))
    assert any("handler failed" in line for line in run_handler.log_lines())

    spool.unlink()
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    run_handler(CLAUDE, claude(session, transcript, "SessionEnd", reason="exit"))
    query.wait_for_session(session, lambda d: session_tokens(d) == expected)


def test_an_unwritable_spool_falls_back_to_sending_directly(
    background: HandlerRunner, server: Any, query: QueryClient, tmp_path: Path
) -> None:
    spool = Path(background.env["AGENTMON_SPOOL_DIR"])
    spool.write_text("not a directory")
    background.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = str(uuid.uuid4())
    transcript = tmp_path / f"{session}.jsonl"
    expected = write_session(Transcript(transcript, session))
    background(CLAUDE, claude(session, transcript, "SessionEnd", reason="exit"))
    query.wait_for_session(session, lambda d: session_tokens(d) == expected)
    assert any("sending directly" in line for line in background.log_lines())
