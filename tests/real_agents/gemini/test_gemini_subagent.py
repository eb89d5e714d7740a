"""Gemini CLI 0.61.0 delegating to a sub-agent (`invoke_agent` → the built-in `generalist`),
hooks into agentmon.

The sub-agent's model calls and tools fire the same hooks, with the session's id, between
the `invoke_agent` call's `BeforeTool` and `AfterTool`; its replies are recorded in its own
transcript (`chats/<session>/<agent id>.jsonl`), not the session's.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
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


def _shape(detail: dict[str, Any]) -> dict[str, Any]:
    """What a session holds: its tokens, and each run's spans (ids, parents, statuses)."""
    return {
        "tokens": detail["session"]["tokens"],
        "runs": [
            (run["run_id"], run["status"], run["error_count"], run["input"])
            for run in detail["runs"]
        ],
        "spans": sorted(
            (s["span_id"], s["parent_span_id"], s["kind"], s["name"], s["status"])
            for run in detail["runs"]
            for s in run["spans"]
        ),
    }


def test_importing_the_hooks_session_adds_nothing(
    delegated: Delegated, embedded_server: ServerProcess
) -> None:
    """`agentmon import` of the session's recordings (the sub-agent's among them) stores
    no second copy of the sub-agent: no session of its own, no token counted again."""
    query = QueryClient(embedded_server.query_url)
    session_id = delegated.answer["session_id"]
    import_chats(embedded_server, delegated.transcript.parent)
    again = settled_session(query, session_id, ended_with_runs(1))
    assert _shape(again) == _shape(delegated.detail)
    with pytest.raises(urllib.error.HTTPError) as missing:
        query.session(delegated.agent_transcript.stem)
    assert missing.value.code == 404


def test_the_import_alone_nests_the_subagent_as_the_hooks_do(
    delegated: Delegated, embedded_server: ServerProcess, tmp_path: Path
) -> None:
    """The same recordings under a new session id, imported without hooks: the sub-agent
    under the call that ran it, each reply counted once."""
    alone_id = str(uuid.uuid4())
    chats = tmp_path / "chats"
    (chats / alone_id).mkdir(parents=True)
    lines = delegated.transcript.read_text().splitlines()
    meta = {**json.loads(lines[0]), "sessionId": alone_id}
    main = chats / f"session-{alone_id[:8]}.jsonl"
    main.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    agent = chats / alone_id / delegated.agent_transcript.name
    shutil.copyfile(delegated.agent_transcript, agent)
    for path in (main, agent):
        os.utime(path, (0, 0))  # a session long over: the import ends it
    import_chats(embedded_server, chats)
    alone = settled_session(QueryClient(embedded_server.query_url), alone_id, ended_with_runs(1))
    hooks, imported = _shape(delegated.detail), _shape(alone)
    assert imported["tokens"] == hooks["tokens"]
    by_kind = sorted((kind, name, status) for _, _, kind, name, status in imported["spans"])
    assert by_kind == sorted((kind, name, status) for _, _, kind, name, status in hooks["spans"])
    (run,) = alone["runs"]
    spans = run["spans"]
    (invoke,) = [s for s in spans if s["name"] == "invoke_agent"]
    (sub,) = [s for s in spans if s["kind"] == "agent"]
    assert sub["parent_span_id"] == invoke["span_id"] and sub["name"] == "generalist"
    inside = sorted((s["kind"], s["name"]) for s in spans if s["parent_span_id"] == sub["span_id"])
    assert inside == [
        ("llm", "gemini-3.8-flash"),
        ("llm", "gemini-3.8-flash"),
        ("tool", "complete_task"),
        ("tool", "run_shell_command"),
    ]
