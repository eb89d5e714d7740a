"""Codex usage from the rollout's `token_count` events: the hook mapping, and `agentmon import`
of a fixture CODEX_HOME through the real command against the real server."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from codex_rollouts import write_rollout
from integration_helpers import (
    HandlerRunner,
    QueryClient,
    Replay,
    agentmon_import,
    counted_tokens,
    of_type,
)

from agentmon.integrations import codex


def rollout_path(home: Path, thread_id: str) -> Path:
    return (
        home / "sessions" / "2026" / "08" / "20" / f"rollout-2026-08-20T07-30-00-{thread_id}.jsonl"
    )


def test_repeated_token_counts_count_once_in_their_turn(tmp_path: Path) -> None:
    thread = str(uuid.uuid4())
    path = rollout_path(tmp_path, thread)
    expected = write_rollout(path, thread)
    replay = Replay(codex.map_payload, codex.session_of)

    def hook(name: str, turn: str, **fields: Any) -> list[dict[str, Any]]:
        payload = {"session_id": thread, "turn_id": turn, "hook_event_name": name,
                   "transcript_path": str(path), **fields}  # fmt: skip
        return replay(payload)

    hook("UserPromptSubmit", f"{thread}-t1", prompt="Run the tests")
    # the payload's usage is not counted when the rollout is there to count from
    stopped = hook("Stop", f"{thread}-t1", usage={"input_tokens": 1, "output_tokens": 1})
    hook("UserPromptSubmit", f"{thread}-t2", prompt="Fix them")
    again = hook("Stop", f"{thread}-t2")
    snapshots = of_type(stopped + again, "metric.snapshot")
    assert counted_tokens(replay.events) == expected
    assert [s["correlation"]["run_id"] for s in snapshots] == [f"{thread}-t1", f"{thread}-t2"]
    assert {s["payload"]["model"] for s in snapshots} == {"gpt-5.4"}


def import_codex(env: dict[str, str], home: Path, ingest_url: str) -> str:
    return agentmon_import("codex", {**env, "CODEX_HOME": str(home)}, "--ingest-url", ingest_url)


def test_import_codex_twice_and_after_hooks_counts_tokens_once(
    run_handler: HandlerRunner, server: Any, tmp_path: Path
) -> None:
    query = QueryClient(server.query_url)
    env = {**run_handler.env, "AGENTMON_INGEST_URL": server.ingest_url}
    thread = str(uuid.uuid4())
    path = rollout_path(tmp_path / "codex", thread)
    expected = write_rollout(path, thread)
    old = time.time() - 7200
    os.utime(path, (old, old))

    # the first turn arrives live through the real handler, then everything is imported twice
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    for name, fields in (("UserPromptSubmit", {"prompt": "Run the tests"}), ("Stop", {})):
        payload = {"session_id": thread, "turn_id": f"{thread}-t1", "hook_event_name": name,
                   "transcript_path": str(path), **fields}  # fmt: skip
        run_handler("agentmon-codex-handler", payload)
    output = import_codex(env, tmp_path / "codex", server.ingest_url)
    assert "sessions: 1" in output and "skipped lines: 1" in output
    import_codex(env, tmp_path / "codex", server.ingest_url)

    def tokens(detail: dict[str, Any]) -> dict[str, int]:
        found = detail["session"]["tokens"]
        return {name: found[name] for name in expected}

    detail = query.wait_for_session(thread, lambda d: tokens(d) == expected)
    time.sleep(0.5)
    detail = query.session(thread)
    assert tokens(detail) == expected
    assert sorted(run["run_id"] for run in detail["runs"]) == [f"{thread}-t1", f"{thread}-t2"]
    spans = query.run(f"{thread}-t1")["spans"]
    assert [(s["kind"], s["name"], s["status"]) for s in spans] == [("tool", "shell", "error")]
