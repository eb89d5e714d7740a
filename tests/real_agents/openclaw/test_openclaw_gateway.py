"""OpenClaw 2026.9.6 with a running gateway (`openclaw gateway`), offline: the path where
OpenClaw itself starts and ends sessions and the internal hook's `command:*` events fire.

The gateway runs under a temporary HOME with agentmon's hook and plugin installed (as in
test_openclaw_real); `openclaw agent` (no `--local`) sends one turn with an `exec` call
through it, `openclaw sessions compact` compacts that session (one summary call to the
fake), then `--message "/new"` starts a new session. A second agent, `asker`, has
`tools.exec.mode: "ask"`: its exec needs a human's approval, which a headless run cannot
wait for, so OpenClaw refuses the call (askFallback deny). Assertions compare agentmon's
records with the CLI's `--json` answers and the tool results the fake was sent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.openclaw.fake_openai import COMMAND, REPLY, FakeChat
from tests.real_agents.openclaw.test_openclaw_real import OPENCLAW, _built_hooks, _home

TOKEN = "agentmon-test-token"
KEY = "gw"
ASKER = "asker"


@dataclass
class World:
    query: QueryClient
    fake: FakeChat
    turn: dict[str, Any]
    compacted: dict[str, Any]
    new: dict[str, Any]
    asked: dict[str, Any]


def _gateway_home(root: Path, base_url: str, port: int) -> Path:
    home = _home(root, _built_hooks(), base_url)
    config_path = home / ".openclaw" / "openclaw.json"
    config = json.loads(config_path.read_text())
    auth = {"mode": "token", "token": TOKEN}
    config["gateway"] = {"mode": "local", "port": port, "bind": "loopback", "auth": auth}
    # once agents are listed, `main` must be too
    config["agents"]["entries"] = {"main": {}, ASKER: {"tools": {"exec": {"mode": "ask"}}}}
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


def _openclaw(binary: Path, home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(binary), *args, "--json"],
        cwd=home / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    answer: dict[str, Any] = json.loads(completed.stdout)
    return answer


def _agent(
    binary: Path, home: Path, env: dict[str, str], message: str, agent: str = "main"
) -> dict[str, Any]:
    key = KEY if agent == "main" else agent
    command = ["agent", "--agent", agent, "--session-key", key, "--message", message]
    return _openclaw(binary, home, env, *command)


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    binary = real_agent_bin(OPENCLAW, "openclaw")
    root = tmp_path_factory.mktemp("openclaw-gateway")
    port = free_port()
    with FakeChat() as fake:
        home = _gateway_home(root, fake.base_url, port)
        env = {
            "PATH": f"{binary.parent.parent / 'node' / 'bin'}:{os.environ['PATH']}",
            "HOME": str(home),
            "AGENTMON_INGEST_URL": embedded_server.ingest_url,
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
            turn = _agent(binary, home, env, "TOOL: run echo hello")
            compact = ["sessions", "compact", f"agent:main:{KEY}", "--token", TOKEN]
            compacted = _openclaw(binary, home, env, *compact)
            new = _agent(binary, home, env, "/new")
            asked = _agent(binary, home, env, "TOOL: run echo hello", agent=ASKER)
            query = QueryClient(embedded_server.query_url)
            yield World(query, fake, turn, compacted, new, asked)
        finally:
            gateway.terminate()
            try:
                gateway.wait(timeout=60)
            except subprocess.TimeoutExpired:  # seen once after a compaction, under load
                gateway.kill()
                gateway.wait(timeout=60)


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
