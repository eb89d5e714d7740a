"""``agentmon import openclaw`` of a fixture state directory (built from the transcript's
field names: session header, message tree, toolCall / toolResult, usage with and without
``cost.total``, a compaction, an archived copy, a malformed line) into the real server."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import QueryClient, agentmon_import, clean_env


def line(record: dict[str, Any]) -> str:
    return json.dumps(record) + "\n"


def message(entry_id: str, parent: str, at: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "id": entry_id, "parentId": parent, "timestamp": at, "message": body}


def transcript(session_id: str) -> str:
    usage1 = {
        "input": 12,
        "output": 40,
        "cacheRead": 9000,
        "cacheWrite": 800,
        "totalTokens": 9852,
        "cost": {"total": 0.0093},
    }
    usage2 = {"input": 30, "output": 200, "cacheRead": 9800, "cacheWrite": 0, "totalTokens": 10030}
    call = {"type": "toolCall", "id": "tc1", "name": "exec", "arguments": {"command": "ls"}}
    return (
        line(
            {
                "type": "session",
                "version": 3,
                "id": session_id,
                "timestamp": "2026-11-20T14:30:00.000Z",
                "cwd": "/home/ada/ws",
            }
        )
        + line(
            message(
                "e1",
                "",
                "2026-11-20T14:30:01.000Z",
                {"role": "user", "content": [{"type": "text", "text": "What is here?"}]},
            )
        )
        + line(
            message(
                "e2",
                "e1",
                "2026-11-20T14:30:05.300Z",
                {
                    "role": "assistant",
                    "content": [call],
                    "provider": "anthropic",
                    "model": "claude-opus-4-6",
                    "usage": usage1,
                    "stopReason": "toolUse",
                },
            )
        )
        + line(
            message(
                "e3",
                "e2",
                "2026-11-20T14:30:06.000Z",
                {
                    "role": "toolResult",
                    "toolCallId": "tc1",
                    "toolName": "exec",
                    "content": [{"type": "text", "text": "README.md"}],
                    "isError": False,
                },
            )
        )
        + "not json at all\n"
        + line(
            {
                "type": "compaction",
                "id": "e4",
                "parentId": "e3",
                "timestamp": "2026-11-20T14:31:00.000Z",
                "firstKeptEntryId": "e3",
                "tokensBefore": 120000,
            }
        )
        + line(
            message(
                "e5",
                "e4",
                "2026-11-20T14:31:05.000Z",
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "A README."}],
                    "provider": "anthropic",
                    "model": "claude-opus-4-6",
                    "usage": usage2,
                    "stopReason": "stop",
                },
            )
        )
    )


def write_state(state: Path, session_id: str) -> None:
    sessions = state / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    text = transcript(session_id)
    live = sessions / f"{session_id}.jsonl"
    live.write_text(text)
    (sessions / f"{session_id}.jsonl.deleted.1790000000000").write_text(text)  # archived copy
    (sessions / "sessions.json").write_text("{}")
    old = time.time() - 7200
    for path in sessions.iterdir():
        os.utime(path, (old, old))


def run_import(state: Path, ingest_url: str, *extra: str) -> str:
    env = {**clean_env("AGENTMON_", "OPENCLAW_"), "OPENCLAW_STATE_DIR": str(state)}
    return agentmon_import("openclaw", env, "--ingest-url", ingest_url, *extra)


def snapshot(query: QueryClient, session_id: str) -> dict[str, Any]:
    detail = query.session(session_id)
    runs = [query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "session": {k: detail["session"][k] for k in ("tokens", "cost_usd", "cost_source", "cwd")},
        "spans": sorted((s["kind"], s["name"], s["status"]) for r in runs for s in r["spans"]),
        "events": len(query.events(session_id=session_id)),
    }


def test_import_openclaw_twice_and_its_archived_copy_store_everything_once(
    server: Any, tmp_path: Path
) -> None:
    session_id = f"oc-{uuid.uuid4().hex[:8]}"
    write_state(tmp_path / "state", session_id)
    query = QueryClient(server.query_url)

    dry = run_import(tmp_path / "state", server.ingest_url, "--dry-run")
    assert "files: 2, sessions: 2" in dry and "2 not a JSON object" in dry
    run_import(tmp_path / "state", server.ingest_url)
    query.wait_for_session(session_id, lambda d: d["session"]["tokens"]["output"] == 240)
    time.sleep(0.5)
    first = snapshot(query, session_id)
    tokens = first["session"]["tokens"]
    assert (tokens["input"], tokens["cache_read"], tokens["cache_write"]) == (42, 18800, 800)
    assert first["session"]["cwd"] == "/home/ada/ws"
    # the first call's cost as OpenClaw reported it, the second estimated
    assert first["session"]["cost_source"] == "mixed"
    # $0.0093 reported + 30 in, 200 out, 9,800 cache read at claude-opus-4-6's prices
    assert first["session"]["cost_usd"] == pytest.approx(0.0093 + 0.01005)
    assert first["spans"] == sorted(
        [
            ("compaction", "compaction", "ok"),
            ("llm", "claude-opus-4-6", "ok"),
            ("llm", "claude-opus-4-6", "ok"),
            ("tool", "exec", "ok"),
        ]
    )
    run_import(tmp_path / "state", server.ingest_url)
    time.sleep(1.0)
    assert snapshot(query, session_id) == first
