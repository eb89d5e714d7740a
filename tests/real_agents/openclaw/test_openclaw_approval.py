"""OpenClaw 2026.9.6 asking a human to approve an exec, through a running gateway, offline.

No plugin hook reports the ask; the exec tool does emit the agent events `lifecycle`
`waiting-approval` / `approval-resolved` (toolCallId, approvalId), which agentmon's plugin
follows in the gateway's own process (`api.runtime.events.onAgentEvent`). The gateway runs as
in test_openclaw_gateway (agent `asker` has `tools.exec.mode: "ask"`). OpenClaw waits for a
decision only when an approval surface is connected (else it refuses at once, as that test
shows), so the test connects one (`Approver`: OpenClaw's own operator-approvals client), which
also tells it what OpenClaw asked. One turn's exec is approved with `openclaw approvals
resolve … allow-once`, another's denied with `… deny`; while each waits the test reads
agentmon's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient, agentmon_import, clean_env
from tests.real_agents.openclaw.approvals import Approver
from tests.real_agents.openclaw.fake_openai import COMMAND, REPLY, FakeChat
from tests.real_agents.openclaw.openclaw_sessions import window_session_id
from tests.real_agents.openclaw.test_openclaw_gateway import (
    ASKER,
    TOKEN,
    _answer,
    _openclaw,
    _start_openclaw,
    running_gateway,
)

PROMPT = "TOOL: run echo hello"


@dataclass
class Decided:
    """One turn whose exec waited for a human: what OpenClaw asked, agentmon's session while
    it waited, the decision's event and the turn's `--json` answer."""

    session_id: str  # OpenClaw's (its session_windows row), agentmon's too
    requested: dict[str, Any]
    while_waiting: dict[str, Any]
    running_while_waiting: bool
    resolved: dict[str, Any]
    answer: dict[str, Any]


@dataclass
class World:
    query: QueryClient
    fake: FakeChat
    approved: Decided
    denied: Decided
    home: Path
    ingest_url: str


def _waiting(query: QueryClient, session_id: str) -> dict[str, Any]:
    return query.wait_for_session(session_id, lambda d: d["session"]["waiting_reason"] is not None)


def _decide(
    binary: Path,
    home: Path,
    env: dict[str, str],
    approver: Approver,
    query: QueryClient,
    key: str,
    decision: str,
) -> Decided:
    turn = _start_openclaw(
        binary, home, env, "agent", "--agent", ASKER, "--session-key", key, "--message", PROMPT
    )
    requested = approver.next_event("exec.approval.requested")
    key_asked = requested["request"]["sessionKey"]  # an approval request names only the key
    session_id = window_session_id(home, "session_key", key_asked, agent=ASKER)
    while_waiting = _waiting(query, session_id)
    running = turn.poll() is None
    _openclaw(
        binary, home, env, "approvals", "resolve", requested["id"], decision, "--token", TOKEN
    )
    resolved = approver.next_event("exec.approval.resolved")
    return Decided(session_id, requested, while_waiting, running, resolved, _answer(turn))


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("openclaw-approval")
    with FakeChat() as fake, running_gateway(root, fake, embedded_server) as gateway:
        binary, home, env = gateway.binary, gateway.home, gateway.env
        approver = Approver(binary, home / ".openclaw" / "openclaw.json", env)
        try:
            query = QueryClient(embedded_server.query_url)
            approved = _decide(binary, home, env, approver, query, "approved", "allow-once")
            denied = _decide(binary, home, env, approver, query, "denied", "deny")
        finally:
            approver.close()
        yield World(query, fake, approved, denied, home, embedded_server.ingest_url)


def _settled(world: World, decided: Decided) -> tuple[dict[str, Any], dict[str, Any]]:
    """The turn's run once ended, and its one tool span."""
    detail = world.query.wait_for_session(
        decided.session_id,
        lambda d: bool(d["runs"]) and all(r["ended_at"] for r in d["runs"]),
    )
    (run,) = detail["runs"]
    (tool,) = [s for s in world.query.run(run["run_id"])["spans"] if s["kind"] == "tool"]
    return run, tool


def _tool_results(world: World) -> list[str]:
    return [str(r) for request in world.fake.requests for r in request["tool_results"]]


@pytest.mark.parametrize("turn", ["approved", "denied"])
def test_while_openclaw_waits_for_an_approval_the_session_waits_with_the_command(
    world: World, turn: str
) -> None:
    decided: Decided = getattr(world, turn)
    assert decided.requested["request"]["command"] == COMMAND  # what OpenClaw asked
    assert decided.running_while_waiting  # the turn had not ended
    session = decided.while_waiting["session"]
    assert (session["status"], session["waiting_reason"]) == ("waiting", "permission_prompt")
    assert session["waiting_message"] == f"Allow exec: {COMMAND} ?"


def test_an_approved_exec_runs_and_the_session_waits_no_more(world: World) -> None:
    decided = world.approved
    assert decided.resolved["decision"] == "allow-once"
    run, tool = _settled(world, decided)
    assert (tool["name"], tool["status"], tool["input"]) == ("exec", "ok", {"command": COMMAND})
    assert any("hello" in result for result in _tool_results(world))
    assert (run["status"], run["output"]) == ("ok", REPLY)
    session = world.query.session(decided.session_id)["session"]
    assert (session["waiting_reason"], session["waiting_message"]) == (None, None)


def test_a_denied_exec_is_a_denied_call_and_the_session_waits_no_more(world: World) -> None:
    decided = world.denied
    assert decided.resolved["decision"] == "deny"
    run, tool = _settled(world, decided)
    assert (tool["name"], tool["status"]) == ("exec", "denied")
    (error,) = world.query.run(run["run_id"])["errors"]
    assert (error["kind"], error["span_id"]) == ("permission_denied", tool["span_id"])
    session = world.query.session(decided.session_id)["session"]
    assert (session["waiting_reason"], session["waiting_message"]) == (None, None)
    assert json.dumps(decided.answer)  # the turn answered


def test_importing_the_sessions_keeps_the_human_decisions(world: World) -> None:
    """`agentmon import openclaw` reads the same turns from OpenClaw's database: a human's
    refusal ("Exec denied (…, user-denied)", a result that never ran) stays denied."""
    before = [_outcome(*_settled(world, decided)) for decided in (world.approved, world.denied)]
    env = {**clean_env("AGENTMON_", "OPENCLAW_"), "HOME": str(world.home)}
    summary = agentmon_import("openclaw", {**env, "AGENTMON_INGEST_URL": world.ingest_url})
    assert "sessions: 2" in summary, summary
    after = [_outcome(*_settled(world, decided)) for decided in (world.approved, world.denied)]
    assert [outcome[:3] for outcome in after] == [("ok", "ok", 0), ("ok", "denied", 1)]
    assert after == before


def _outcome(run: dict[str, Any], tool: dict[str, Any]) -> tuple[Any, ...]:
    return run["status"], tool["status"], run["error_count"], tool["span_id"], run["tokens"]
