"""Gemini CLI 0.61.0 delegating to a sub-agent (`invoke_agent` → the built-in `generalist`),
hooks into agentmon.

The sub-agent's model calls and tools fire the same hooks, with the session's id, between
the `invoke_agent` call's `BeforeTool` and `AfterTool`; its replies are recorded in its own
transcript (`chats/<session>/<agent id>.jsonl`), not the session's.
"""

from __future__ import annotations

import json
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
    transcript_replies,
)
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import ended_with_runs, settled_session


@dataclass
class Delegated:
    detail: dict[str, Any]
    answer: dict[str, Any]
    transcript: Path
    agent_transcript: Path


@pytest.fixture(scope="module")
def delegated(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Delegated:
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-subagent")
    home, project = root / "home", root / "project"
    project.mkdir()
    _install_hooks(home)
    fake = FakeGemini().start()
    env = gemini_env(root, home, fake.url, embedded_server.ingest_url)
    try:
        code, answer = _gemini(binary, env, project, "SUBAGENT please")
    finally:
        fake.stop()
    assert code == 0, answer
    session_id = answer["session_id"]
    transcript = _transcript_of(home, session_id)
    (agent_transcript,) = (transcript.parent / session_id).glob("*.jsonl")
    detail = settled_session(QueryClient(embedded_server.query_url), session_id, ended_with_runs(1))
    return Delegated(detail, answer, transcript, agent_transcript)


def _spans(delegated: Delegated) -> list[dict[str, Any]]:
    (run,) = delegated.detail["runs"]
    spans: list[dict[str, Any]] = run["spans"]
    return spans


def test_the_subagents_calls_nest_under_the_call_that_spawned_it(delegated: Delegated) -> None:
    spans = _spans(delegated)
    (invoke,) = [s for s in spans if s["name"] == "invoke_agent"]
    (agent,) = [s for s in spans if s["kind"] == "agent"]
    assert agent["parent_span_id"] == invoke["span_id"] and agent["name"] == "generalist"
    assert agent["status"] == "ok" and invoke["status"] == "ok"
    assert json.loads(agent["output"]) == {"response": "hi from the sub-agent"}
    inside = [s for s in spans if s["parent_span_id"] == agent["span_id"]]
    assert sorted((s["kind"], s["name"]) for s in inside if s["kind"] == "tool") == [
        ("tool", "complete_task"),
        ("tool", "run_shell_command"),
    ]
    agent_replies = transcript_replies(delegated.agent_transcript)
    assert len([s for s in inside if s["kind"] == "llm"]) == len(agent_replies) == 2
    main_llm = [s for s in spans if s["kind"] == "llm" and s["parent_span_id"] is None]
    assert len(main_llm) == len(transcript_replies(delegated.transcript)) == 2


def test_every_reply_is_counted_once_from_its_own_transcript(delegated: Delegated) -> None:
    totals: dict[str, int] = {}
    for path in (delegated.transcript, delegated.agent_transcript):
        for reply in transcript_replies(path):
            for key, value in reply["tokens"].items():
                totals[key] = totals.get(key, 0) + value
    assert delegated.detail["session"]["tokens"] == {
        "input": totals["input"] - totals["cached"],
        "output": totals["output"],
        "cache_read": totals["cached"],
        "cache_write": 0,
        "total": totals["total"],
    }
    (run,) = delegated.detail["runs"]
    assert run["output"] == delegated.answer["response"] and run["status"] == "ok"
