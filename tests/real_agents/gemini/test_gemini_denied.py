"""Gemini CLI 0.61.0 refusing tool calls in headless mode (no `--yolo`), hooks into agentmon.

Without `--yolo`, `gemini -p` keeps `run_shell_command` only when a policy allows some of its
commands; a call the policy denies, or one that would need the user's approval (which
headless mode cannot ask for), is answered with an error before it runs: only `BeforeTool`
fires, and the refusal is written in the transcript as the call's answer. The session here:
a policy allowing `echo` and denying `rm`; the model asks for `rm`, then `touch` (needs
approval), then `echo` (runs).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.gemini.fake_gemini import FakeGemini
from tests.real_agents.gemini.test_gemini_real import (
    GEMINI,
    _gemini,
    _install_hooks,
    _transcript_of,
    gemini_env,
    import_chats,
    transcript_replies,
)
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import ended_with_runs, settled_session, tool_spans

POLICY = """
[[rule]]
toolName = "run_shell_command"
commandPrefix = "echo"
decision = "allow"
priority = 100

[[rule]]
toolName = "run_shell_command"
commandPrefix = "rm"
decision = "deny"
priority = 200
"""


@dataclass
class Refusals:
    server: ServerProcess
    detail: dict[str, Any]
    answer: dict[str, Any]
    exit_code: int
    transcript: Path
    project: Path


@pytest.fixture(scope="module")
def refusals(embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Refusals:
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-denied")
    home, project = root / "home", root / "project"
    (project / "agentmon-keep").mkdir(parents=True)
    _install_hooks(home)
    policies = home / ".gemini" / "policies"
    policies.mkdir()
    (policies / "agentmon-test.toml").write_text(POLICY)
    fake = FakeGemini().start()
    env = gemini_env(root, home, fake.url, embedded_server.ingest_url)
    try:
        code, answer = _gemini(binary, env, project, "TOOL_DENIED please", yolo=False)
    finally:
        fake.stop()
    session_id = answer["session_id"]
    query = QueryClient(embedded_server.query_url)
    detail = settled_session(query, session_id, ended_with_runs(1))
    return Refusals(
        embedded_server, detail, answer, code, _transcript_of(home, session_id), project
    )


def transcript_tool_calls(path: Path) -> list[dict[str, Any]]:
    """The tool calls of the transcript's model replies (the last version of each reply)."""
    return [call for reply in transcript_replies(path) for call in reply.get("toolCalls", [])]


def _answer_error(call: dict[str, Any]) -> str | None:
    error = call["result"][0]["functionResponse"]["response"].get("error")
    return error if isinstance(error, str) else None


def test_the_cli_refused_two_calls_and_ran_one(refusals: Refusals) -> None:
    assert refusals.exit_code == 0
    assert (refusals.project / "agentmon-keep").is_dir()
    assert not (refusals.project / "agentmon-denied").exists()
    calls = transcript_tool_calls(refusals.transcript)
    assert [call["status"] for call in calls] == ["error", "error", "success"]
    assert all("denied by policy" in str(_answer_error(call)) for call in calls[:2])


def test_refused_calls_close_as_denied_with_the_clis_reason(refusals: Refusals) -> None:
    calls = transcript_tool_calls(refusals.transcript)
    spans = tool_spans(refusals.detail)
    assert [span["input"]["command"] for span in spans] == [
        call["args"]["command"] for call in calls
    ]
    assert [span["status"] for span in spans] == ["denied", "denied", "ok"]
    assert [span["error"] for span in spans[:2]] == [_answer_error(call) for call in calls[:2]]
    assert "allowed-by-policy" in spans[2]["output"]  # the echo's own answer, not a refusal's


def test_the_runs_error_count_is_the_refusals(refusals: Refusals) -> None:
    (run,) = refusals.detail["runs"]
    assert run["status"] == "ok" and run["output"] == refusals.answer["response"]
    assert [error["kind"] for error in run["errors"]] == ["permission_denied"] * 2
    denied = [span["span_id"] for span in tool_spans(refusals.detail)[:2]]
    assert [error["span_id"] for error in run["errors"]] == denied
    assert run["error_count"] == 2 and refusals.detail["session"]["error_count"] == 2


def test_the_importer_agrees(refusals: Refusals, tmp_path: Path) -> None:
    """`agentmon import` of the same transcript adds nothing to the hooks' session, and alone
    (the transcript under a new session id) records the refusals the same way."""
    query = QueryClient(refusals.server.query_url)
    import_chats(refusals.server, refusals.transcript.parent)
    session_id = refusals.detail["session"]["session_id"]
    again = settled_session(query, session_id, ended_with_runs(1))
    assert [s["status"] for s in tool_spans(again)] == ["denied", "denied", "ok"]
    assert again["session"]["error_count"] == 2

    alone_id = str(uuid.uuid4())
    lines = refusals.transcript.read_text().splitlines()
    meta = {**json.loads(lines[0]), "sessionId": alone_id}
    chats = tmp_path / "chats"
    chats.mkdir()
    copy = chats / f"session-{alone_id[:8]}.jsonl"
    copy.write_text("\n".join([json.dumps(meta), *lines[1:]]))
    os.utime(copy, (0, 0))  # a session long over: the import ends it
    import_chats(refusals.server, chats)
    alone = settled_session(query, alone_id, ended_with_runs(1))
    spans = tool_spans(alone)
    assert [span["status"] for span in spans] == ["denied", "denied", "ok"]
    assert [span["error"] for span in spans[:2]] == [
        s["error"] for s in tool_spans(refusals.detail)[:2]
    ]
    assert [error["kind"] for error in alone["runs"][0]["errors"]] == ["permission_denied"] * 2
