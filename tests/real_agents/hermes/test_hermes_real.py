"""Hermes Agent 0.19.0 (from PyPI), the real CLI, against a fake chat completions API.

`hermes -z "…" --yolo --accept-hooks` runs one turn offline against a custom provider
(`model.provider: custom`, `base_url` at the fake) with agentmon's handler installed by
`agentmon hooks install hermes`. The fake (tests/real_agents/openclaw/fake_openai.py) answers
a prompt containing TOOL with a tool call of a tool Hermes does not have, then with text.
Then `agentmon import hermes` reads Hermes' own database (twice) and adds nothing to what the
hooks reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient, agentmon_import, clean_env
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.openclaw.fake_openai import REPLY, USAGE, FakeChat

HERMES = ("hermes-agent@0.19.0", "hermes")


@dataclass
class World:
    server: ServerProcess
    fake: FakeChat
    query: QueryClient
    stdout: str
    exit_code: int
    state_dir: Path
    home: Path


def _install_hooks(home: Path, base_url: str) -> None:
    config = home / ".hermes" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "model:\n  provider: custom\n"
        f"  base_url: {base_url}\n  default: fake-model\n  api_key: fake-key\n"
    )
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "agentmon"), "hooks", "install", "hermes", "--settings", str(config)]
    subprocess.run(
        [*command, "--handler-dir", str(bin_dir)],
        check=True,
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
    )


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    binary = real_agent_bin(*HERMES)
    root = tmp_path_factory.mktemp("hermes-real")
    home = root / "home"
    fake = FakeChat().start()
    _install_hooks(home, fake.base_url)
    server = embedded_server  # shared: the test finds its session by Hermes' own id
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AGENTMON_INGEST_URL": server.ingest_url,
        "AGENTMON_STATE_DIR": str(root / "state"),
        "AGENTMON_SPOOL_DIR": str(root / "spool"),
        "AGENTMON_HOOK_LOG": str(root / "hooks.log"),
    }
    try:
        result = subprocess.run(
            [str(binary), "-z", "say hello", "--yolo", "--accept-hooks"],
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        query = QueryClient(server.query_url)
        yield World(server, fake, query, result.stdout, result.returncode, root / "state", home)
    finally:
        fake.stop()


def _only_session(world: World) -> dict[str, Any]:
    """The turn's session (the server is shared: found by the id the handler kept state
    under, which is Hermes' own)."""
    (state,) = (world.state_dir / "hermes").glob("*.json")
    session = world.query.session(state.stem)["session"]
    assert session["framework"] == "hermes"
    return world.query.wait_for_session(
        state.stem,
        lambda d: bool(d.get("runs")) and all(r["ended_at"] for r in d["runs"]),
    )


def test_a_turn_offline(world: World) -> None:
    assert world.exit_code == 0 and REPLY in world.stdout
    detail = _only_session(world)
    (run,) = detail["runs"]
    assert run["status"] == "ok"
    assert run["input"] == "say hello"
    assert run["output"] == REPLY
    llm = [s for s in world.query.run(run["run_id"])["spans"] if s["kind"] == "llm"]
    # Hermes first probes the server's `/api/show` (Ollama's model API): not a model call
    calls = [r for r in world.fake.requests if r["path"].endswith("/chat/completions")]
    assert len(llm) == len(calls) == 1
    assert detail["session"]["tokens"]["total"] == USAGE["total_tokens"]


def test_importing_the_recorded_turn_twice_adds_nothing(world: World) -> None:
    """Hermes' state.db names the run by its prompt and keeps the session's tokens; the
    hooks' run and per-call usage are the same run and the same tokens."""
    session_id = _only_session(world)["session"]["session_id"]
    live = _stored(world, session_id)
    env = clean_env("AGENTMON_", "HERMES_")
    env |= {"HOME": str(world.home), "AGENTMON_STATE_DIR": str(world.state_dir)}
    env["AGENTMON_INGEST_URL"] = world.server.ingest_url
    for _ in range(2):
        printed = agentmon_import("hermes", env)
        assert "sessions: 1" in printed, printed
        assert _stored(world, session_id) == live


def _stored(world: World, session_id: str) -> dict[str, Any]:
    time.sleep(0.5)  # a duplicate arriving late would show
    detail = world.query.session(session_id)
    runs = [world.query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "runs": sorted((r["run"]["run_id"], r["run"]["input"], r["run"]["status"]) for r in runs),
        "spans": sorted((s["span_id"], s["kind"]) for r in runs for s in r["spans"]),
        "tokens": detail["session"]["tokens"],
    }
