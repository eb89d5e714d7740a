"""Producers never load server code: the hook handlers, the SDK and the client layer are
imported (and used) in fresh interpreters and must not bring in a server module; the light
distribution needs only these packages and msgspec (through ``agentmon.events``)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.light_install import SERVER_MODULES

import agentmon

HANDLERS = ["claude", "codex", "gemini", "hermes"]
PRODUCER_PACKAGES = ("client", "integrations", "sdk")
SOURCE = Path(agentmon.__file__).parent


def loaded_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Top-level and agentmon modules in ``sys.modules`` after running ``code``."""
    script = f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        input="",
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def server_modules_in(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES)]


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_run_loads_no_server_module(
    handler: str, embedded_server: Any, tmp_path: Path
) -> None:
    env = {
        "AGENTMON_INGEST_URL": embedded_server.ingest_url,
        "AGENTMON_SPOOL_DIR": str(tmp_path / "spool"),
        "AGENTMON_STATE_DIR": str(tmp_path / "state"),
        "AGENTMON_HOOK_LOG": str(tmp_path / "hooks.log"),
        "AGENTMON_HOOK_DELIVERY": "wait",  # delivery included in this process
        "PATH": "/usr/bin:/bin",
    }
    code = (
        f"import sys; sys.argv = ['agentmon-{handler}-handler']; "
        f"from agentmon.integrations import {handler}; {handler}.main()"
    )
    modules = loaded_after(code, env)
    assert server_modules_in(modules) == []
    assert "agentmon.client.sink" not in modules
    assert "msgspec" not in modules


def test_the_sdk_sending_loads_no_server_module(embedded_server: Any, tmp_path: Path) -> None:
    code = (
        "from agentmon.sdk import Emitter\n"
        f"with Emitter(server_url={embedded_server.ingest_url!r}, spool_dir={str(tmp_path)!r},"
        " framework='import-test') as emitter:\n"
        "    with emitter.session(title='t'):\n"
        "        pass\n"
        "    assert emitter.flush(10)\n"
    )
    modules = loaded_after(code)
    assert server_modules_in(modules) == []
    assert "agentmon.client.sink" not in modules
    assert not list(tmp_path.glob("*.json"))


def test_the_client_layer_loads_no_server_module() -> None:
    client = sorted(path.stem for path in (SOURCE / "client").glob("[a-z]*.py"))
    code = "; ".join(f"import agentmon.client.{name}" for name in client)
    assert server_modules_in(loaded_after(code)) == []


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_producers_and_server_keep_to_their_side() -> None:
    """No producer module imports server code; no module outside ``integrations`` imports
    one of its private modules (the SDK once imported ``integrations._hookio``)."""
    crossings = []
    for path in sorted(SOURCE.rglob("*.py")):
        package = path.relative_to(SOURCE).parts[0]
        for name in imports_of(path):
            private_hook = name.startswith("agentmon.integrations._")
            if package in PRODUCER_PACKAGES and server_modules_in([name]):
                crossings.append(f"{path.relative_to(SOURCE)} imports {name}")
            if private_hook and package != "integrations":
                crossings.append(f"{path.relative_to(SOURCE)} imports {name}")
    assert crossings == []
