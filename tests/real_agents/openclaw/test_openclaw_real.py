"""OpenClaw 2026.9.6, the real CLI on its own Node 24, against a fake chat completions API.

agentmon's hook and plugin, built from hooks/openclaw, are installed under a temporary HOME
as a user would (`~/.openclaw/hooks/agentmon`, `~/.openclaw/extensions/agentmon`). Two
`openclaw agent --local` turns run side by side (each takes 20-60 s here): one with an
`exec` tool call against the fake, one whose model is unreachable (the CLI retries the turn
and exits 1). Assertions compare agentmon's records with the CLI's `--json` result and the
fake's request log; then `agentmon import openclaw` reads what OpenClaw stored of both turns
(twice) and adds nothing to what the plugin reported. The server is the run's shared one:
each test looks at its own sessions' ids.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port
from tests.integrations.integration_helpers import QueryClient, agentmon_import, clean_env
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.openclaw.fake_openai import COMMAND, REPLY, USAGE, FakeChat
from tests.real_agents.openclaw.openclaw_sessions import window_session_id

OPENCLAW = "openclaw@2026.9.6"
HOOKS_SOURCE = Path(__file__).parents[3] / "hooks" / "openclaw"
TURN_TIMEOUT = 420


@dataclass
class Turn:
    exit_code: int
    result: dict[str, Any]
    session_key: str
    home: Path


@dataclass
class World:
    server: ServerProcess
    fake: FakeChat
    query: QueryClient
    ok: Turn
    failed: Turn


def _built_hooks() -> Path:
    """hooks/openclaw compiled and laid out (`npm run build`: tsc, then assemble.mjs)."""
    if not (HOOKS_SOURCE / "node_modules" / ".bin" / "tsc").exists():
        pytest.skip("hooks/openclaw has no node_modules: run `npm --prefix hooks/openclaw ci`")
    subprocess.run(
        ["npm", "--prefix", str(HOOKS_SOURCE), "run", "build"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return HOOKS_SOURCE / "dist" / "install"


def _home(root: Path, built: Path, base_url: str) -> Path:
    home = root / "home"
    shutil.copytree(built / "hook" / "agentmon", home / ".openclaw" / "hooks" / "agentmon")
    shutil.copytree(built / "plugin" / "agentmon", home / ".openclaw" / "extensions" / "agentmon")
    (home / "work").mkdir()
    model = {"id": "fake-model", "name": "Fake", "api": "openai-completions", "input": ["text"]}
    config = {
        "models": {
            "mode": "merge",
            "providers": {
                "fake": {
                    "baseUrl": base_url,
                    "apiKey": "fake-key",
                    "api": "openai-completions",
                    "models": [{**model, "contextWindow": 128000, "maxTokens": 4096}],
                }
            },
        },
        "agents": {
            "defaults": {"model": {"primary": "fake/fake-model"}, "workspace": str(home / "work")}
        },
        "tools": {"exec": {"mode": "full"}},
        **json.loads((Path(__file__).parents[3] / "examples/openclaw/openclaw.json").read_text()),
    }
    config["plugins"]["allow"] = ["agentmon"]
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(config))
    return home


def _start_turn(home: Path, ingest_url: str, key: str, message: str) -> subprocess.Popen[str]:
    binary = real_agent_bin(OPENCLAW, "openclaw")
    node24 = binary.parent.parent / "node" / "bin"
    env = {
        "PATH": f"{node24}:{os.environ['PATH']}",
        "HOME": str(home),
        "AGENTMON_INGEST_URL": ingest_url,
        "AGENTMON_SPOOL_DIR": str(home / "spool"),
        "NO_COLOR": "1",
    }
    command = [str(binary), "agent", "--local", "--agent", "main", "--session-key", key]
    return subprocess.Popen(
        [*command, "--message", message, "--json"],
        cwd=home / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _finish(process: subprocess.Popen[str], key: str, home: Path) -> Turn:
    stdout, _ = process.communicate(timeout=TURN_TIMEOUT)
    try:
        result = json.loads(stdout)
    except ValueError:
        result = {"stdout": stdout[-2000:]}
    return Turn(process.returncode, result, key, home)


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    real_agent_bin(OPENCLAW, "openclaw")
    built = _built_hooks()
    root = tmp_path_factory.mktemp("openclaw-real")
    server = embedded_server
    fake = FakeChat().start()
    (root / "ok").mkdir()
    (root / "down").mkdir()
    ok_home = _home(root / "ok", built, fake.base_url)
    unreachable = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    down_home = _home(root / "down", built, unreachable)
    try:
        ok = _start_turn(ok_home, server.ingest_url, "ok", "TOOL: run echo hello")
        down = _start_turn(down_home, server.ingest_url, "down", "say hi")
        finished = _finish(ok, "ok", ok_home), _finish(down, "down", down_home)
        yield World(server, fake, QueryClient(server.query_url), *finished)
    finally:
        fake.stop()


def _session(world: World, turn: Turn) -> dict[str, Any]:
    return world.query.wait_for_session(
        _session_id(turn), lambda d: bool(d.get("runs")) and all(r["ended_at"] for r in d["runs"])
    )


def _session_id(turn: Turn) -> str:
    """The turn's session (a failed turn's result names none): OpenClaw's database knows
    it by the session key."""
    return window_session_id(turn.home, "session_key", f"agent:main:{turn.session_key}")


def test_a_turn_with_a_tool_call(world: World) -> None:
    assert world.ok.exit_code == 0, world.ok.result
    detail = _session(world, world.ok)
    session, (run,) = detail["session"], detail["runs"]
    assert session["model"] == run["model"] == "fake-model"
    # OpenClaw prefixes "[Sat 2026-12-05 01:58 UTC] " to the prompt: not in the title
    assert session["title"] == run["input"] == "TOOL: run echo hello"
    assert run["status"] == "ok" and run["error_count"] == 0
    assert run["output"] == world.ok.result["payloads"][0]["text"] == REPLY
    spans = world.query.run(run["run_id"])["spans"]
    assert [s["kind"] for s in spans].count("llm") == len(world.fake.requests) == 2
    (tool,) = [s for s in spans if s["kind"] == "tool"]
    assert (tool["name"], tool["status"], tool["input"]) == ("exec", "ok", {"command": COMMAND})
    assert tool["duration_ms"] > 0
    assert all(s["status"] == "ok" for s in spans)


def test_tokens_are_what_the_model_reported(world: World) -> None:
    detail = _session(world, world.ok)
    reported = world.ok.result["meta"]["agentMeta"]["usage"]
    served = len(world.fake.requests)
    assert (
        detail["session"]["tokens"]["input"] == reported["input"] == served * USAGE["prompt_tokens"]
    )
    assert detail["session"]["tokens"]["output"] == reported["output"]
    assert (
        detail["session"]["tokens"]["total"] == reported["total"] == served * USAGE["total_tokens"]
    )


def test_a_local_turn_starts_its_session_once_and_ends_it_with_the_turn(
    world: World,
) -> None:
    """`--local` fires no session_start or session_end: the plugin starts the session from
    its first hook and ends it with the one-shot process's turn."""
    detail = _ended_session(world, world.ok)
    session_id = detail["session"]["session_id"]
    starts = world.query.events(session_id=session_id, event_type="session.start")
    assert len(starts) == 1 and starts[0]["payload"]["synthetic"] is True
    assert detail["session"]["status"] == "ended"
    assert detail["session"]["end_reason"] == "local_turn_end"
    (run,) = detail["runs"]
    assert detail["session"]["ended_at"] >= run["ended_at"]


def _ended_session(world: World, turn: Turn) -> dict[str, Any]:
    session_id = _session(world, turn)["session"]["session_id"]
    return world.query.wait_for_session(session_id, lambda d: d["session"]["ended_at"] is not None)


def test_a_turn_whose_model_is_unreachable_is_one_failed_run(world: World) -> None:
    assert world.failed.exit_code == 1
    assert "connection refused" in json.dumps(world.failed.result).lower()
    detail = _session(world, world.failed)
    (run,) = detail["runs"]
    assert run["status"] == "error"
    assert run["error"] == "Connection error. (ECONNREFUSED)"
    spans = world.query.run(run["run_id"])["spans"]
    llm = [s for s in spans if s["kind"] == "llm"]
    assert len(llm) >= 2  # OpenClaw retries the turn; each attempt's call is its own span
    assert {s["status"] for s in llm} == {"error"}
    assert {s["error"] for s in llm} == {"Connection error. (ECONNREFUSED)"}
    assert run["error_count"] == len(llm)
    assert detail["session"]["tokens"]["total"] == 0
    ended = _ended_session(world, world.failed)["session"]
    assert (ended["status"], ended["end_reason"]) == ("error", "local_turn_end")


def _stored(world: World, session_id: str) -> dict[str, Any]:
    """Runs, spans and tokens of the session, once a moment has passed for stragglers."""
    time.sleep(0.5)
    detail = world.query.session(session_id)
    runs = [world.query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "runs": sorted((r["run"]["run_id"], r["run"]["status"]) for r in runs),
        "spans": sorted((s["span_id"], s["kind"], s["status"]) for r in runs for s in r["spans"]),
        "errors": sum(r["run"]["error_count"] for r in runs),
        "tokens": detail["session"]["tokens"],
    }


def _import(turn: Turn, ingest_url: str) -> str:
    env = clean_env("AGENTMON_", "OPENCLAW_")
    return agentmon_import(
        "openclaw", {**env, "HOME": str(turn.home), "AGENTMON_INGEST_URL": ingest_url}
    )


@pytest.mark.parametrize("name", ["ok", "failed"])
def test_importing_what_openclaw_stored_twice_adds_nothing(world: World, name: str) -> None:
    """The plugin reported the turn; OpenClaw's own database (transcript entries stamped
    with the runId, replies with their responseId) imports onto the same ids."""
    turn: Turn = getattr(world, name)
    session_id = _session(world, turn)["session"]["session_id"]
    live = _stored(world, session_id)
    for _ in range(2):
        summary = _import(turn, world.server.ingest_url)
        assert "sessions: 1" in summary, summary
        assert _stored(world, session_id) == live
