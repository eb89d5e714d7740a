"""Gemini CLI 0.61.0 exporting OTLP/HTTP to agentmon: alone, and together with the hooks.

Two sessions of the real binary against the fake Gemini API, each a tool-call prompt, then
(`--resume`d) a failing shell command and a plain prompt: one session with telemetry only,
one with telemetry and agentmon's hooks.
Assertions compare agentmon's records with the CLI's own (its `-o json` answers, transcript
and the fake's request log): one run per prompt, closed; the calls inside it; every model
response counted once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.gemini.fake_gemini import ROUTER_USAGE, FakeGemini
from tests.real_agents.gemini.test_gemini_real import (
    GEMINI,
    _gemini,
    _install_hooks,
    gemini_env,
    transcript_replies,
)
from tests.real_agents.installed import real_agent_bin

PROMPTS = ("TOOL_OK please", "TOOL_FAIL please", "PLAIN second prompt")


@dataclass
class Exported:
    session_id: str
    answers: list[dict[str, Any]]
    transcripts: list[Path]
    router_calls: int


@dataclass
class World:
    server: ServerProcess
    query: QueryClient
    sessions: dict[str, Exported]


def enable_telemetry(home: Path, otlp_url: str) -> None:
    settings_path = home / ".gemini" / "settings.json"
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings.setdefault("security", {"auth": {"selectedType": "gemini-api-key"}})
    settings["telemetry"] = {
        "enabled": True,
        "target": "local",
        "otlpEndpoint": otlp_url,
        "otlpProtocol": "http",
    }
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(json.dumps(settings))


def _run_session(
    binary: Path, root: Path, server: ServerProcess, *, hooks: bool
) -> tuple[Exported, FakeGemini]:
    home, project = root / "home", root / "project"
    project.mkdir(parents=True)
    if hooks:
        _install_hooks(home)
    enable_telemetry(home, server.url("otlp"))
    fake = FakeGemini().start()
    env = gemini_env(root, home, fake.url, server.ingest_url)
    answers = []
    try:
        for index, prompt in enumerate(PROMPTS):
            extra = ("--resume", "latest") if index else ()
            code, answer = _gemini(binary, env, project, prompt, *extra)
            assert code == 0, answer
            answers.append(answer)
    finally:
        fake.stop()
    session_id = answers[0]["session_id"]
    assert answers[1]["session_id"] == session_id
    routers = sum(1 for request in fake.requests if request["kind"] == "router")
    transcripts = sorted(home.glob(f".gemini/tmp/*/chats/session-*{session_id[:8]}*.jsonl"))
    return Exported(session_id, answers, transcripts, routers), fake


def session_tokens(transcripts: list[Path]) -> dict[str, int]:
    """The token totals of a session's transcripts, each reply once: a resumed session may
    go on in a new time-stamped file or in the old one."""
    replies = {reply["id"]: reply for path in transcripts for reply in transcript_replies(path)}
    totals: dict[str, int] = {}
    for reply in replies.values():
        for key, value in reply["tokens"].items():
            totals[key] = totals.get(key, 0) + value
    return totals


@pytest.fixture(scope="module")
def world(embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Sessions on the run's shared server: each test looks at its own sessions' ids."""
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-otel")
    server = embedded_server
    sessions = {
        name: _run_session(binary, root / name, server, hooks=name == "hooks_and_otel")[0]
        for name in ("otel_only", "hooks_and_otel")
    }
    return World(server, QueryClient(server.query_url), sessions)


def settled(world: World, name: str) -> dict[str, Any]:
    """The session once both runs are closed and a moment has passed for stragglers."""
    session_id = world.sessions[name].session_id

    def done(detail: dict[str, Any]) -> bool:
        runs = detail.get("runs", [])
        return len(runs) >= len(PROMPTS) and all(run.get("ended_at") for run in runs)

    world.query.wait_for_session(session_id, done)
    time.sleep(0.5)  # anything still being applied would add runs or tokens
    return world.query.wait_for_session(session_id, done)


def spans_of(world: World, run_id: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = world.query.run(run_id)["spans"]
    return spans


def expected_tokens(totals: dict[str, int], extra_calls: int) -> dict[str, int]:
    """The transcript's totals in agentmon's terms, plus `extra_calls` router calls."""
    router_in = ROUTER_USAGE["promptTokenCount"] * extra_calls
    return {
        "input": totals["input"] - totals["cached"] + router_in,
        "output": totals["output"] + ROUTER_USAGE["candidatesTokenCount"] * extra_calls,
        "cache_read": totals["cached"],
        "cache_write": 0,
        "total": totals["total"] + ROUTER_USAGE["totalTokenCount"] * extra_calls,
    }


def test_otel_alone_gives_one_closed_run_per_prompt(world: World) -> None:
    session = world.sessions["otel_only"]
    detail = settled(world, "otel_only")
    runs = detail["runs"]
    assert [run["input"] for run in runs] == list(PROMPTS)
    assert [run["status"] for run in runs] == ["ok", "ok", "ok"]
    assert [run["output"] for run in runs] == [a["response"] for a in session.answers]
    first, failing, second = (spans_of(world, run["run_id"]) for run in runs)
    # the router's call, the main call asking for the tool, the tool, the main call after it
    assert [span["kind"] for span in first] == ["llm", "llm", "tool", "llm"]
    tool = first[2]
    assert tool["name"] == "run_shell_command" and tool["status"] == "ok"
    assert tool["duration_ms"] > 0
    assert [span["kind"] for span in second] == ["llm", "llm"]
    assert all(span["ended_at"] for span in first + failing + second)
    assert_one_failed_shell(runs[1], failing)


def assert_one_failed_shell(run: dict[str, Any], spans: list[dict[str, Any]]) -> None:
    (tool,) = [span for span in spans if span["kind"] == "tool"]
    assert tool["name"] == "run_shell_command" and tool["status"] == "error"
    assert tool["error"].startswith("exit code 2")
    assert run["error_count"] == 1


def test_otel_alone_counts_every_response_once(world: World) -> None:
    """OTel sees the router's calls too (the transcript does not): each counted once."""
    session = world.sessions["otel_only"]
    detail = settled(world, "otel_only")
    assert session.router_calls == len(PROMPTS)
    totals = session_tokens(session.transcripts)
    assert detail["session"]["tokens"] == expected_tokens(totals, session.router_calls)


def test_hooks_and_otel_give_one_set_of_runs_spans_and_tokens(world: World) -> None:
    session = world.sessions["hooks_and_otel"]
    detail = settled(world, "hooks_and_otel")
    runs = detail["runs"]
    assert [run["input"] for run in runs] == list(PROMPTS)
    assert [run["status"] for run in runs] == ["ok", "ok", "ok"]
    kinds = [span["kind"] for span in spans_of(world, runs[0]["run_id"])]
    assert kinds == ["llm", "tool", "llm"]
    assert_one_failed_shell(runs[1], spans_of(world, runs[1]["run_id"]))
    assert detail["session"]["error_count"] == 1
    # usage from the hooks' transcript reading only: never the OTel copy on top
    totals = session_tokens(session.transcripts)
    assert detail["session"]["tokens"] == expected_tokens(totals, 0)
    assert detail["session"]["end_reason"] == "exit"
