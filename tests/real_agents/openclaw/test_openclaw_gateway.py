"""OpenClaw 2026.9.6 with a running gateway (`openclaw gateway`), offline: the path where
OpenClaw itself starts and ends sessions and the internal hook's `command:*` events fire.

The gateway runs under a temporary HOME with agentmon's hook and plugin installed (as in
test_openclaw_real); `openclaw agent` (no `--local`) sends one turn with an `exec` call
through it, `openclaw sessions compact` compacts that session (one summary call to the
fake), then `--message "/new"` starts a new session. Another key's turn asks for
`sessions_spawn` (`tools.toolSearch: false` gives the model the tool directly): OpenClaw runs
the child in its own session after the turn, then announces its result to the parent in a
second run. Beside them, a turn on a third key asks the human a question (`ask_user`) that
no one answers: while OpenClaw waits (30 s, the least it allows) the fixture reads agentmon's
session. A second agent, `asker`, has `tools.exec.mode: "ask"`: its exec needs a human's
approval, which a headless run cannot wait for, so OpenClaw refuses the call (askFallback
deny). Assertions compare agentmon's records with the CLI's `--json` answers, the tool
results the fake was sent and OpenClaw's database (sessions, transcripts), which
`agentmon import openclaw` then reads onto the same records.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port
from tests.integrations.integration_helpers import QueryClient, agentmon_import, clean_env
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.openclaw.fake_openai import (
    CHILD_REPLY,
    CHILD_TASK,
    COMMAND,
    QUESTION,
    REPLY,
    USAGE,
    FakeChat,
)
from tests.real_agents.openclaw.openclaw_sessions import read_rows, window_session_id
from tests.real_agents.openclaw.test_openclaw_real import OPENCLAW, _built_hooks, _home

TOKEN = "agentmon-test-token"
KEY = "gw"
ASKER = "asker"
SPAWNER = "spawner"  # a session key of agent main
SPAWN_PROMPT = "SPAWN: hand a task to a helper"
ASKING = "asking"  # a session key of agent main
ASK_PROMPT = "ASK: pick a color"


@dataclass
class World:
    query: QueryClient
    fake: FakeChat
    turn: dict[str, Any]
    compacted: dict[str, Any]
    new: dict[str, Any]
    asked: dict[str, Any]
    spawned: dict[str, Any]
    home: Path
    ingest_url: str
    asking: dict[str, Any]
    while_asking: dict[str, Any]  # agentmon's session while OpenClaw waited for the answer


def _gateway_home(root: Path, base_url: str, port: int) -> Path:
    home = _home(root, _built_hooks(), base_url)
    config_path = home / ".openclaw" / "openclaw.json"
    config = json.loads(config_path.read_text())
    auth = {"mode": "token", "token": TOKEN}
    config["gateway"] = {"mode": "local", "port": port, "bind": "loopback", "auth": auth}
    # once agents are listed, `main` must be too
    config["agents"]["entries"] = {"main": {}, ASKER: {"tools": {"exec": {"mode": "ask"}}}}
    config["tools"]["toolSearch"] = False
    config_path.write_text(json.dumps(config))
    return home


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the gateway never listened on {port}")


def _start_openclaw(
    binary: Path, home: Path, env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(binary), *args, "--json"],
        cwd=home / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answer(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    answer: dict[str, Any] = json.loads(stdout)
    return answer


def _openclaw(binary: Path, home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    return _answer(_start_openclaw(binary, home, env, *args))


def _agent(
    binary: Path,
    home: Path,
    env: dict[str, str],
    message: str,
    agent: str = "main",
    key: str | None = None,
) -> dict[str, Any]:
    key = key or (KEY if agent == "main" else agent)
    command = ["agent", "--agent", agent, "--session-key", key, "--message", message]
    return _openclaw(binary, home, env, *command)


def _while_open(
    query: QueryClient, session_id: str, process: subprocess.Popen[str]
) -> dict[str, Any]:
    """agentmon's session once it shows a waiting reason, or as it was when `process` (the
    turn) ended without it doing so."""
    detail: dict[str, Any] = {}
    while process.poll() is None:
        try:
            detail = query.session(session_id)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        if detail and detail["session"]["waiting_reason"] is not None:
            break
        time.sleep(0.1)
    return detail


@dataclass
class Gateway:
    """A running `openclaw gateway` on loopback with agentmon's hook and plugin, and what a
    command run against it needs."""

    binary: Path
    home: Path
    env: dict[str, str]


@contextmanager
def running_gateway(root: Path, fake: FakeChat, server: ServerProcess) -> Iterator[Gateway]:
    """`openclaw gateway --bind loopback --auth token` over a fresh home at `root`, talking to
    `fake` and reporting to `server`; stopped (killed if it hangs) on the way out."""
    binary = real_agent_bin(OPENCLAW, "openclaw")
    port = free_port()
    home = _gateway_home(root, fake.base_url, port)
    env = {
        "PATH": f"{binary.parent.parent / 'node' / 'bin'}:{os.environ['PATH']}",
        "HOME": str(home),
        "AGENTMON_INGEST_URL": server.ingest_url,
        "AGENTMON_SPOOL_DIR": str(home / "spool"),
        "NO_COLOR": "1",
        "OPENCLAW_GATEWAY_TOKEN": TOKEN,
    }
    gateway_command = [str(binary), "gateway", "--port", str(port), "--bind", "loopback"]
    gateway = subprocess.Popen(
        [*gateway_command, "--auth", "token", "--token", TOKEN],
        cwd=home / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_port(port, gateway)
        yield Gateway(binary, home, env)
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=60)
        except subprocess.TimeoutExpired:  # seen once after a compaction, under load
            gateway.kill()
            gateway.wait(timeout=60)


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("openclaw-gateway")
    with FakeChat() as fake, running_gateway(root, fake, embedded_server) as gateway:
        binary, home, env = gateway.binary, gateway.home, gateway.env
        # first: its child and the announcement run on while the other turns go
        spawned = _agent(binary, home, env, SPAWN_PROMPT, key=SPAWNER)
        ask = ["agent", "--agent", "main", "--session-key", ASKING, "--message", ASK_PROMPT]
        asking = _start_openclaw(binary, home, env, *ask)
        query = QueryClient(embedded_server.query_url)
        asked_in = window_session_id(home, "session_key", f"agent:main:{ASKING}", wait=120)
        while_asking = _while_open(query, asked_in, asking)
        turn = _agent(binary, home, env, "TOOL: run echo hello")
        compact = ["sessions", "compact", f"agent:main:{KEY}", "--token", TOKEN]
        compacted = _openclaw(binary, home, env, *compact)
        new = _agent(binary, home, env, "/new")
        asked = _agent(binary, home, env, "TOOL: run echo hello", agent=ASKER)
        answered = _answer(asking)
        ingest = embedded_server.ingest_url
        yield World(
            query,
            fake,
            turn,
            compacted,
            new,
            asked,
            spawned,
            home,
            ingest,
            answered,
            while_asking,
        )


def _session_id(answer: dict[str, Any]) -> str:
    meta = answer.get("result", answer).get("meta", {})
    return str(meta["agentMeta"]["sessionId"])


def test_a_turn_through_the_gateway_is_a_session_openclaw_started(world: World) -> None:
    session_id = _session_id(world.turn)
    detail = world.query.wait_for_session(
        session_id, lambda d: bool(d["runs"]) and all(r["ended_at"] for r in d["runs"])
    )
    (run,) = detail["runs"]
    assert (run["status"], run["input"], run["output"]) == ("ok", "TOOL: run echo hello", REPLY)
    spans = world.query.run(run["run_id"])["spans"]
    (tool,) = [span for span in spans if span["kind"] == "tool"]
    assert (tool["name"], tool["status"], tool["input"]) == ("exec", "ok", {"command": COMMAND})
    starts = world.query.events(session_id=session_id, event_type="session.start")
    # OpenClaw's own session_start (no synthetic start once it came first)
    assert starts and not any(start["payload"].get("synthetic") for start in starts)


def test_slash_new_ends_the_session_through_both_the_hook_and_the_plugin(world: World) -> None:
    assert world.new["result"]["payloads"][0]["text"].endswith("New session started.")
    session_id = _session_id(world.turn)
    detail = world.query.wait_for_session(session_id, lambda d: d["session"]["ended_at"])
    assert (detail["session"]["status"], detail["session"]["end_reason"]) == ("ended", "new")
    ends = world.query.events(session_id=session_id, event_type="session.end")
    assert {end["payload"].get("reason") for end in ends} == {"new"}
    # the internal hook's `command:new` and the plugin's `session_end`, which names the
    # session `/new` answered from (2026.9.6 may keep the session id across `/new`)
    next_ids = [end["payload"].get("nextSessionId") for end in ends]
    assert sorted(next_ids, key=str) == sorted([None, _session_id(world.new)], key=str)


def test_an_exec_that_needs_an_approval_no_one_can_give_is_denied(world: World) -> None:
    """No hook tells a plugin that OpenClaw asks (a channel or the Control UI would show
    the prompt): agentmon sees the refusal, the tool call closed as denied."""
    session_id = _session_id(world.asked)
    detail = world.query.wait_for_session(
        session_id, lambda d: bool(d["runs"]) and all(r["ended_at"] for r in d["runs"])
    )
    (run,) = detail["runs"]
    (tool,) = [span for span in world.query.run(run["run_id"])["spans"] if span["kind"] == "tool"]
    results = [result for request in world.fake.requests for result in request["tool_results"]]
    (refusal,) = [json.loads(r)["error"] for r in results if "exec denied" in r]
    assert refusal.startswith("exec denied: Headless runs cannot wait for interactive exec")
    assert (tool["name"], tool["status"], tool["error"]) == ("exec", "denied", refusal)
    (error,) = world.query.run(run["run_id"])["errors"]
    assert (error["kind"], error["span_id"]) == ("permission_denied", tool["span_id"])
    assert (run["status"], run["error_count"], run["output"]) == ("ok", 1, REPLY)


def test_a_compaction_is_a_span_and_its_summary_call_opens_no_run(world: World) -> None:
    assert world.compacted["compacted"] is True
    session_id = _session_id(world.turn)
    detail = world.query.wait_for_session(session_id, lambda d: d["session"]["ended_at"])
    (run,) = detail["runs"]  # the turn's; the summary call's own runId is no run
    assert run["input"] == "TOOL: run echo hello"
    ends = world.query.events(session_id=session_id, event_type="span.end")
    (compaction,) = [e for e in ends if e["payload"].get("kind") == "compaction"]
    assert compaction["payload"]["tokensBefore"] == world.compacted["result"]["tokensBefore"]
    assert compaction["payload"]["status"] == "ok"
    summary_calls = [e for e in ends if ":compaction:" in str(e["payload"].get("callId"))]
    assert len(summary_calls) == 1  # the fake served 2 calls for the turn, 1 for the summary
    assert summary_calls[0]["correlation"].get("run_id") is None


def _transcript_tokens(home: Path, session_id: str) -> int:
    """The total tokens of a session's replies as OpenClaw stored them (its transcript)."""
    sql = "SELECT event_json FROM transcript_events WHERE session_id = ?"
    rows = read_rows(home, sql, [session_id])
    messages = [json.loads(row[0]).get("message") or {} for row in rows]
    replies = [m for m in messages if m.get("role") == "assistant"]
    return sum(int(m["usage"]["totalTokens"]) for m in replies)


def _agent_span_ended(world: World, session_id: str) -> dict[str, Any]:
    def ended(detail: dict[str, Any]) -> bool:
        ends = world.query.events(session_id=session_id, event_type="span.end")
        return any(end["payload"].get("kind") == "agent" for end in ends)

    world.query.wait_for_session(session_id, ended)
    ends = world.query.events(session_id=session_id, event_type="span.end")
    (end,) = [e for e in ends if e["payload"].get("kind") == "agent"]
    return end


def test_a_sub_agent_is_an_agent_span_under_the_call_that_spawned_it(world: World) -> None:
    parent_id = _session_id(world.spawned)
    end = _agent_span_ended(world, parent_id)
    child_id = window_session_id(world.home, "parent_session_key", f"agent:main:{SPAWNER}")
    assert end["payload"]["child_session_id"] == child_id
    detail = world.query.wait_for_session(
        parent_id, lambda d: len(d["runs"]) == 2 and all(r["ended_at"] for r in d["runs"])
    )
    spawning = next(run for run in detail["runs"] if run["input"] == SPAWN_PROMPT)
    spans = world.query.run(spawning["run_id"])["spans"]
    (tool,) = [span for span in spans if span["kind"] == "tool"]
    (agent,) = [span for span in spans if span["kind"] == "agent"]
    assert (tool["name"], tool["status"]) == ("sessions_spawn", "ok")
    assert tool["input"] == {"task": CHILD_TASK, "label": "helper"}
    assert agent["span_id"] == end["correlation"]["span_id"]
    assert agent["parent_span_id"] == tool["span_id"]
    assert (agent["name"], agent["status"], agent["output"]) == ("helper", "ok", CHILD_REPLY)
    assert agent["input"] == CHILD_TASK
    # the parent's other run: OpenClaw announcing the child's result to it
    (announced,) = [run for run in detail["runs"] if run is not spawning]
    assert (announced["status"], announced["output"]) == ("ok", REPLY)
    assert CHILD_REPLY in announced["input"]


def test_a_sub_agent_is_its_own_ended_session_and_its_tokens_count_once(world: World) -> None:
    parent_id = _session_id(world.spawned)
    _agent_span_ended(world, parent_id)
    child_id = window_session_id(world.home, "parent_session_key", f"agent:main:{SPAWNER}")
    child = world.query.wait_for_session(child_id, lambda d: d["session"]["ended_at"] is not None)
    (run,) = child["runs"]
    assert (run["status"], run["output"]) == ("ok", CHILD_REPLY)
    assert child["session"]["parent_session_id"] == parent_id
    assert (child["session"]["status"], child["session"]["end_reason"]) == (
        "ended",
        "subagent-complete",
    )
    parent = world.query.session(parent_id)
    children = [request for request in world.fake.requests if request["role"] == "child"]
    assert child["session"]["tokens"]["total"] == _transcript_tokens(world.home, child_id)
    assert child["session"]["tokens"]["total"] == len(children) * USAGE["total_tokens"]
    # the parent's own calls (the spawning turn's two, the announcement's one) and no more
    assert parent["session"]["tokens"]["total"] == _transcript_tokens(world.home, parent_id)
    assert parent["session"]["tokens"]["total"] == 3 * USAGE["total_tokens"]


def _stored(world: World, session_id: str) -> dict[str, Any]:
    detail = world.query.session(session_id)
    runs = [world.query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "parent": detail["session"]["parent_session_id"],
        "runs": sorted((r["run"]["run_id"], r["run"]["status"]) for r in runs),
        "spans": sorted(
            (s["span_id"], s["kind"], s["status"], s["parent_span_id"])
            for r in runs
            for s in r["spans"]
        ),
        "tokens": detail["session"]["tokens"],
    }


def test_importing_a_spawning_session_and_its_child_adds_nothing(world: World) -> None:
    """`agentmon import openclaw` reads both sessions from OpenClaw's database onto the ids
    the plugin used: the parent keeps its agent span and both runs, the child its parent
    and its tokens."""
    parent_id = _session_id(world.spawned)
    _agent_span_ended(world, parent_id)
    child_id = window_session_id(world.home, "parent_session_key", f"agent:main:{SPAWNER}")
    world.query.wait_for_session(child_id, lambda d: d["session"]["ended_at"] is not None)
    time.sleep(0.5)  # stragglers
    live = {session: _stored(world, session) for session in (parent_id, child_id)}
    env = {**clean_env("AGENTMON_", "OPENCLAW_"), "HOME": str(world.home)}
    env["AGENTMON_INGEST_URL"] = world.ingest_url
    for _ in range(2):
        agentmon_import("openclaw", env)
        time.sleep(0.5)
        assert {session: _stored(world, session) for session in live} == live


def test_a_question_to_the_human_is_the_session_waiting_with_it(world: World) -> None:
    """`ask_user` blocks the turn until the human answers (or OpenClaw gives up): agentmon
    shows the session waiting, with the question, until the tool call ends."""
    assert world.while_asking, "agentmon had no session while OpenClaw waited"
    waiting = world.while_asking["session"]
    assert (waiting["status"], waiting["waiting_reason"]) == ("waiting", "question")
    assert waiting["waiting_message"] == QUESTION
    session_id = _session_id(world.asking)
    assert waiting["session_id"] == session_id
    detail = world.query.wait_for_session(
        session_id, lambda d: bool(d["runs"]) and all(r["ended_at"] for r in d["runs"])
    )
    assert detail["session"]["status"] != "waiting"
    (run,) = detail["runs"]
    (tool,) = [span for span in world.query.run(run["run_id"])["spans"] if span["kind"] == "tool"]
    assert (tool["name"], tool["status"]) == ("ask_user", "ok")
    assert "no_answer" in json.dumps(tool["output"])  # no one answered
    assert (run["status"], run["output"]) == ("ok", REPLY)
