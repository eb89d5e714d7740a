"""OpenClaw 2026.9.6 `--local` turns for the rest of the real-client matrix: a command that
exits non-zero, two prompts in one session, and a command the exec policy denies.

Like test_openclaw_real (whose helpers install agentmon's hook and plugin under a temporary
HOME), each HOME has its own fake chat completions API; the `pair` HOME runs two turns on
one session key (the first runs `ls` of a missing folder, the second `echo hello`), the
`deny` HOME (`tools.exec.mode: "deny"`) runs one turn beside the first. Assertions compare
agentmon's records with the CLI's `--json` answers and what the fake was sent back (the
tool results OpenClaw gave the model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.openclaw.fake_openai import (
    COMMAND,
    FAILING_COMMAND,
    REPLY,
    USAGE,
    FakeChat,
)
from tests.real_agents.openclaw.test_openclaw_real import (
    OPENCLAW,
    Turn,
    _built_hooks,
    _finish,
    _home,
    _import,
    _start_turn,
)
from tests.real_agents.support import Detail, ended_with_runs, settled_session, tool_spans

FAILING_PROMPT = "TOOL FAIL: list a folder that does not exist"
PROMPT = "TOOL: run echo hello"


@dataclass
class World:
    ingest_url: str
    query: QueryClient
    pair: tuple[Turn, Turn]
    pair_fake: FakeChat
    denied: Turn
    deny_fake: FakeChat


def _home_with_exec_mode(root: Path, base_url: str, mode: str) -> Path:
    root.mkdir()
    home = _home(root, _built_hooks(), base_url)
    config_path = home / ".openclaw" / "openclaw.json"
    config = json.loads(config_path.read_text())
    config["tools"]["exec"]["mode"] = mode
    config_path.write_text(json.dumps(config))
    return home


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    real_agent_bin(OPENCLAW, "openclaw")
    root = tmp_path_factory.mktemp("openclaw-matrix")
    ingest = embedded_server.ingest_url
    with FakeChat() as pair_fake, FakeChat() as deny_fake:
        pair_home = _home_with_exec_mode(root / "pair", pair_fake.base_url, "full")
        deny_home = _home_with_exec_mode(root / "deny", deny_fake.base_url, "deny")
        first = _start_turn(pair_home, ingest, "pair", FAILING_PROMPT)
        denied = _start_turn(deny_home, ingest, "deny", PROMPT)
        first_turn = _finish(first, "pair", pair_home)
        second_turn = _finish(_start_turn(pair_home, ingest, "pair", PROMPT), "pair", pair_home)
        pair = (first_turn, second_turn)
        yield World(
            ingest,
            QueryClient(embedded_server.query_url),
            pair,
            pair_fake,
            _finish(denied, "deny", deny_home),
            deny_fake,
        )


def _session_id(turn: Turn) -> str:
    assert turn.exit_code == 0, turn.result
    return str(turn.result["meta"]["agentMeta"]["sessionId"])


def _tool_results(fake: FakeChat) -> list[Any]:
    """What OpenClaw told the model each tool call returned."""
    return [result for request in fake.requests for result in request["tool_results"]]


def _pair_session(world: World) -> Detail:
    return settled_session(world.query, _session_id(world.pair[1]), ended_with_runs(2), 60)


def test_a_command_that_exits_non_zero_is_a_failed_tool_call(world: World) -> None:
    detail = _pair_session(world)
    first = next(run for run in detail["runs"] if run["input"] == FAILING_PROMPT)
    (tool,) = [span for span in first["spans"] if span["kind"] == "tool"]
    assert (tool["name"], tool["input"]) == ("exec", {"command": FAILING_COMMAND})
    told_the_model = _tool_results(world.pair_fake)[0]
    assert "(Command exited with code 2)" in told_the_model
    assert tool["status"] == "error"
    assert tool["error"] == f"exit code 2: {told_the_model}"
    # the turn itself succeeded: one error, the tool's
    assert (first["status"], first["error_count"]) == ("ok", 1)
    assert [error["span_id"] for error in first["errors"]] == [tool["span_id"]]


def test_two_prompts_on_one_key_are_one_session_with_two_runs(world: World) -> None:
    first, second = world.pair
    assert _session_id(first) == _session_id(second)
    detail = _pair_session(world)
    runs = sorted(detail["runs"], key=lambda run: run["started_at"])
    assert [run["input"] for run in runs] == [FAILING_PROMPT, PROMPT]
    assert [run["output"] for run in runs] == [REPLY, REPLY]
    assert [run["status"] for run in runs] == ["ok", "ok"]
    statuses = [(span["input"]["command"], span["status"]) for span in tool_spans(detail)]
    assert sorted(statuses) == sorted([(FAILING_COMMAND, "error"), (COMMAND, "ok")])
    served = len(world.pair_fake.requests)
    reported = [turn.result["meta"]["agentMeta"]["usage"] for turn in world.pair]
    tokens = detail["session"]["tokens"]
    assert served == 4
    assert tokens["input"] == sum(usage["input"] for usage in reported) == served * 111
    assert tokens["total"] == sum(usage["total"] for usage in reported)
    assert tokens["total"] == served * USAGE["total_tokens"]
    # ended by the first turn, reopened by the second, ended after it
    session = detail["session"]
    assert (session["status"], session["end_reason"]) == ("ended", "local_turn_end")
    assert session["ended_at"] >= runs[1]["ended_at"] > runs[0]["ended_at"]
    session_id = session["session_id"]
    starts = world.query.events(session_id=session_id, event_type="session.start")
    ends = world.query.events(session_id=session_id, event_type="session.end")
    assert (len(starts), len(ends)) == (1, 2)


def test_a_command_the_exec_policy_denies_is_a_denied_tool_call(world: World) -> None:
    session_id = _session_id(world.denied)
    detail = settled_session(world.query, session_id, ended_with_runs(1), 60)
    (run,) = detail["runs"]
    (tool,) = tool_spans(detail)
    (told_the_model,) = _tool_results(world.deny_fake)
    refusal = json.loads(told_the_model)["error"]
    assert refusal == "exec denied: host=gateway security=deny"
    assert (tool["name"], tool["input"]) == ("exec", {"command": COMMAND})
    assert (tool["status"], tool["error"]) == ("denied", refusal)
    (error,) = run["errors"]
    assert (error["kind"], error["message"], error["span_id"]) == (
        "permission_denied",
        refusal,
        tool["span_id"],
    )
    assert (run["status"], run["error_count"], run["output"]) == ("ok", 1, REPLY)


def _tool_statuses(detail: Detail) -> list[tuple[str, str, str | None]]:
    return sorted((span["span_id"], span["status"], span["error"]) for span in tool_spans(detail))


@pytest.mark.parametrize("name", ["pair", "denied"])
def test_importing_the_sessions_keeps_failed_and_denied_tools_as_they_are(
    world: World, name: str
) -> None:
    """`agentmon import openclaw` reads OpenClaw's transcript of the same turns: its tool
    results must not turn a failed or denied call back into another status."""
    turn = world.pair[1] if name == "pair" else world.denied
    detail = settled_session(world.query, _session_id(turn), ended_with_runs(1), 60)
    live = _tool_statuses(detail), sum(run["error_count"] for run in detail["runs"])
    summary = _import(turn, world.ingest_url)
    assert "sessions: 1" in summary, summary
    again = settled_session(world.query, _session_id(turn), ended_with_runs(1), 60)
    assert (_tool_statuses(again), sum(run["error_count"] for run in again["runs"])) == live
