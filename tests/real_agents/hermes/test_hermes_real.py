"""Hermes Agent 0.19.0 (from PyPI), the real CLI, against a fake chat completions API.

`hermes -z "…" --yolo --accept-hooks` runs one turn offline against a custom provider
(`model.provider: custom`, `base_url` at the fake) with agentmon's handler installed by
`agentmon hooks install hermes`. The fake (tests/real_agents/openclaw/fake_openai.py) answers
a prompt containing TOOL with a tool call of a tool Hermes does not have, then with text.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, start_embedded
from tests.integrations.integration_helpers import QueryClient
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
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    binary = real_agent_bin(*HERMES)
    root = tmp_path_factory.mktemp("hermes-real")
    home = root / "home"
    fake = FakeChat().start()
    _install_hooks(home, fake.base_url)
    server = start_embedded(root / "data")
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
        yield World(server, fake, QueryClient(server.query_url), result.stdout, result.returncode)
    finally:
        fake.stop()
        server.stop()


def _only_session(world: World) -> dict[str, Any]:
    sessions = world.query.get("/v1/sessions", limit=10)["sessions"]
    assert [s["framework"] for s in sessions] == ["hermes"]
    return world.query.wait_for_session(
        sessions[0]["session_id"],
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
