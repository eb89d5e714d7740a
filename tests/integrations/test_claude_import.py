"""Claude Code usage and ``agentmon import`` through the real console commands against the
real embedded server: what the store ends up with, read back through the query API."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from claude_transcripts import Transcript, write_session, write_subagent
from integration_helpers import HandlerRunner, QueryClient, agentmon_import


@pytest.fixture
def handler(run_handler: HandlerRunner, server: Any) -> HandlerRunner:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    return run_handler


def fixture_home(root: Path, session_id: str, *, quiet: bool = True) -> tuple[Path, dict[str, int]]:
    """A home directory holding one Claude Code session with a sub-agent; the expected
    token totals."""
    project = root / ".claude" / "projects" / "-home-ada-app"
    main = project / f"{session_id}.jsonl"
    expected = write_session(Transcript(main, session_id))
    agent = project / session_id / "subagents" / "agent-a1.jsonl"
    for name, count in write_subagent(Transcript(agent, session_id, sidechain=True)).items():
        expected[name] += count
    agent.with_suffix(".meta.json").write_text(json.dumps({"agentType": "Explore"}))
    if quiet:
        old = time.time() - 7200
        os.utime(main, (old, old))
    return root, expected


def run_import(env: dict[str, str], home: Path, ingest_url: str, *extra: str) -> str:
    args = ("--path", str(home / ".claude"), "--ingest-url", ingest_url, *extra)
    return agentmon_import("claude-code", {**env, "HOME": str(home)}, *args)


def tokens(detail: dict[str, Any]) -> dict[str, int]:
    found = detail["session"]["tokens"]
    return {name: found[name] for name in ("input", "output", "cache_read", "cache_write")}


def stored(query: QueryClient, session_id: str) -> dict[str, Any]:
    detail = query.session(session_id)
    spans = [span for run in detail["runs"] for span in query.run(run["run_id"])["spans"]]
    return {
        "tokens": tokens(detail),
        "runs": sorted(run["run_id"] for run in detail["runs"]),
        "spans": sorted((span["kind"], span["span_id"]) for span in spans),
        "events": len(query.events(session_id=session_id)),
    }


def settled(query: QueryClient, session_id: str, expected: dict[str, int]) -> dict[str, Any]:
    query.wait_for_session(session_id, lambda detail: tokens(detail) == expected)
    time.sleep(0.5)  # anything still in flight would change the counts below
    return stored(query, session_id)


def test_import_twice_stores_everything_once(
    handler: HandlerRunner, query: QueryClient, server: Any, tmp_path: Path
) -> None:
    session_id = str(uuid.uuid4())
    home, expected = fixture_home(tmp_path / "home", session_id)

    dry = run_import(handler.env, home, server.ingest_url, "--dry-run")
    assert "sessions: 1" in dry and "skipped lines: 1 (1 not a JSON object)" in dry
    first_output = run_import(handler.env, home, server.ingest_url)
    assert "files: 2, sessions: 1" in first_output
    first = settled(query, session_id, expected)
    assert len(first["runs"]) == 2
    kinds = [kind for kind, _ in first["spans"]]
    assert kinds.count("llm") == 5 and kinds.count("tool") == 2
    assert kinds.count("agent") == 1 and kinds.count("compaction") == 1

    run_import(handler.env, home, server.ingest_url)
    assert settled(query, session_id, expected) == first

    detail = query.session(session_id)
    assert detail["session"]["status"] != "running"  # a quiet file is a session that ended
    errors = [error for run in detail["runs"] for error in query.run(run["run_id"])["errors"]]
    assert sorted(error["message"] for error in errors) == ["2 failed", "API Error: 529"]


def test_hooks_live_then_import_adds_nothing(
    handler: HandlerRunner, query: QueryClient, server: Any, tmp_path: Path
) -> None:
    session_id = str(uuid.uuid4())
    home, expected = fixture_home(tmp_path / "home", session_id, quiet=False)
    main = home / ".claude" / "projects" / "-home-ada-app" / f"{session_id}.jsonl"
    agent = main.parent / session_id / "subagents" / "agent-a1.jsonl"

    def send(name: str, **fields: Any) -> None:
        payload = {
            "session_id": session_id,
            "transcript_path": str(main),
            "cwd": "/home/ada/app",
            "hook_event_name": name,
            **fields,
        }
        handler("agentmon-claude-handler", payload)

    send("SessionStart", source="startup", model="claude-sonnet-4-6")
    send("UserPromptSubmit", prompt="Run the tests")
    send("PreToolUse", tool_name="Bash", tool_input={"command": "pytest -q"}, tool_use_id="toolu_1")
    send(
        "PostToolUseFailure",
        tool_name="Bash",
        tool_input={"command": "pytest -q"},
        tool_use_id="toolu_1",
        error="2 failed",
    )
    send("SubagentStart", agent_id="a1", agent_type="Explore")
    send(
        "PreToolUse",
        tool_name="Grep",
        tool_input={"command": "flaky"},
        tool_use_id="toolu_s1",
        agent_id="a1",
    )
    send("PostToolUse", tool_name="Grep", tool_use_id="toolu_s1", agent_id="a1", tool_response="x")
    send("SubagentStop", agent_id="a1", agent_type="Explore", agent_transcript_path=str(agent))
    send("Stop")
    send("UserPromptSubmit", prompt="Fix them")
    send("PreCompact", trigger="auto")
    send("Stop")

    live = settled(query, session_id, expected)
    assert len(live["runs"]) == 2
    assert [kind for kind, _ in live["spans"]].count("llm") == 5

    run_import(handler.env, home, server.ingest_url)
    after = settled(query, session_id, expected)
    assert after["tokens"] == live["tokens"] == expected
    assert after["runs"] == live["runs"]
    live_spans = set(live["spans"])
    added = [span for span in after["spans"] if span not in live_spans]
    # the transcript's compaction boundary is the one thing the hooks do not see by its id
    assert [kind for kind, _ in added] in ([], ["compaction"])
