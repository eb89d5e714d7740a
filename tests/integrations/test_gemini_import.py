"""``agentmon import gemini-cli`` of a fixture home (built from the chat recording's field
names: metadata line, messages re-appended whole, ``$set`` checkpoints, ``$rewindTo``, a
sub-agent, a malformed line) through the real console command into the real server, twice."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from integration_helpers import QueryClient, agentmon_import, clean_env


def line(record: dict[str, Any]) -> str:
    return json.dumps(record) + "\n"


def gemini(mid: str, at: str, tokens: dict[str, int], **fields: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "timestamp": at,
        "type": "gemini",
        "content": "",
        "model": "gemini-2.5-pro",
        "tokens": tokens,
        **fields,
    }


def write_home(home: Path, session_id: str) -> None:
    chats = home / ".gemini" / "tmp" / "app" / "chats"
    chats.mkdir(parents=True)
    t1 = {"input": 5200, "output": 40, "cached": 3100, "thoughts": 120, "tool": 0, "total": 5360}
    t2 = {"input": 6000, "output": 300, "cached": 5000, "thoughts": 0, "tool": 0, "total": 6300}
    grep = {
        "id": "c1",
        "name": "grep",
        "args": {"pattern": "TODO"},
        "timestamp": "2026-11-20T10:00:07.000Z",
    }
    main = chats / f"session-2026-11-20T10-00-{session_id[:8]}.jsonl"
    main.write_text(
        line(
            {
                "sessionId": session_id,
                "projectHash": "app",
                "startTime": "2026-11-20T10:00:00.000Z",
                "lastUpdated": "2026-11-20T10:00:00.000Z",
                "kind": "main",
            }
        )
        + line(
            {
                "id": "m1",
                "timestamp": "2026-11-20T10:00:04.100Z",
                "type": "user",
                "content": [{"text": "List the TODOs"}],
            }
        )
        # the call is re-appended whole as it changes: only its last version counts
        + line(
            gemini(
                "m2",
                "2026-11-20T10:00:07.900Z",
                {**t1, "output": 10, "total": 5210},
                toolCalls=[{**grep, "status": "executing"}],
            )
        )
        + line(
            gemini(
                "m2",
                "2026-11-20T10:00:07.900Z",
                t1,
                toolCalls=[{**grep, "status": "success", "result": "a.py:3 TODO"}],
            )
        )
        + "{not json\n"
        + line(
            {
                "id": "m3",
                "timestamp": "2026-11-20T10:01:00.000Z",
                "type": "user",
                "content": "Fix them",
            }
        )
        + line(
            {
                "$set": {
                    "lastUpdated": "2026-11-20T10:01:30.000Z",
                    "messages": [
                        gemini(
                            "m4",
                            "2026-11-20T10:01:20.000Z",
                            t2,
                            content="Done",
                            toolCalls=[
                                {
                                    "id": "c2",
                                    "name": "write_file",
                                    "args": {"path": "a.py"},
                                    "status": "error",
                                    "result": "permission denied",
                                }
                            ],
                        )
                    ],
                }
            }
        )
        + line({"$rewindTo": "m4"})
    )
    sub = chats / session_id / "sub-1.jsonl"
    sub.parent.mkdir()
    sub.write_text(
        line(
            {
                "sessionId": f"{session_id}-sub",
                "projectHash": "app",
                "startTime": "2026-11-20T10:00:05.000Z",
                "lastUpdated": "2026-11-20T10:00:06.000Z",
                "kind": "subagent",
            }
        )
        + line(
            gemini(
                "s1",
                "2026-11-20T10:00:06.000Z",
                {"input": 100, "output": 20, "cached": 0, "total": 120},
            )
        )
    )
    old = time.time() - 7200
    for path in (main, sub):
        os.utime(path, (old, old))


def run_import(home: Path, ingest_url: str, *extra: str) -> str:
    env = {**clean_env("AGENTMON_", "GEMINI_"), "HOME": str(home)}
    return agentmon_import("gemini-cli", env, "--ingest-url", ingest_url, *extra)


def snapshot(query: QueryClient, session_id: str) -> dict[str, Any]:
    detail = query.session(session_id)
    runs = {run["run_id"]: query.run(run["run_id"]) for run in detail["runs"]}
    return {
        "tokens": detail["session"]["tokens"],
        "cost_source": detail["session"]["cost_source"],
        "runs": [(run["run"]["input"], len(run["spans"])) for run in runs.values()],
        "spans": sorted(
            (s["kind"], s["name"], s["status"]) for r in runs.values() for s in r["spans"]
        ),
        "errors": sorted(e["message"] for r in runs.values() for e in r["errors"]),
        "events": len(query.events(session_id=session_id)),
    }


def test_import_gemini_cli_twice_stores_everything_once(server: Any, tmp_path: Path) -> None:
    session_id = str(uuid.uuid4())
    write_home(tmp_path / "home", session_id)
    query = QueryClient(server.query_url)

    dry = run_import(tmp_path / "home", server.ingest_url, "--dry-run")
    assert "files: 2, sessions: 2" in dry
    assert "skipped lines: 1 (1 not a JSON object)" in dry
    run_import(tmp_path / "home", server.ingest_url)
    expected = {"input": 2100 + 1000, "output": 340, "cache_read": 8100, "cache_write": 0}

    def counted(detail: dict[str, Any]) -> bool:
        tokens = detail["session"]["tokens"]
        return {k: tokens[k] for k in expected} == expected

    query.wait_for_session(session_id, counted)
    time.sleep(0.5)
    first = snapshot(query, session_id)
    assert first["cost_source"] == "estimated"
    assert [inputs for inputs, _ in first["runs"]] == ["List the TODOs", "Fix them"]
    assert first["spans"] == sorted(
        [
            ("llm", "gemini-2.5-pro", "ok"),
            ("llm", "gemini-2.5-pro", "ok"),
            ("tool", "grep", "ok"),
            ("tool", "write_file", "error"),
        ]
    )
    assert first["errors"] == ["permission denied"]

    sub = query.session(f"{session_id}-sub")["session"]
    assert sub["parent_session_id"] == session_id and sub["tokens"]["total"] == 120

    run_import(tmp_path / "home", server.ingest_url)
    time.sleep(1.0)
    assert snapshot(query, session_id) == first
