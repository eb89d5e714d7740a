"""The distribution as a user gets it: built from the source tree (sdist, then the wheel from
the sdist), installed without extras into a fresh virtualenv, offline.

The base install is the producer side: the hook handler commands and the SDK, with msgspec as
their only dependency. These tests check that it brings nothing else, that every handler
command runs there (and spools when no gateway answers), and that importing the handlers and
the SDK loads no server module even where the server's dependencies are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from tests.light_install import SERVER_MODULES

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "agentmon-fleet"
HANDLER_MODULES = ["claude", "codex", "gemini", "hermes"]
SESSION = "5b0f7c2e-6a1d-4d8e-9a53-1f2b3c4d5e6f"
# One real payload per tool, and whether the tool passes it as the last argument (Codex
# `notify`) instead of on stdin.
SAMPLES: dict[str, tuple[dict[str, Any], bool]] = {
    "agentmon-claude-handler": (
        {
            "session_id": SESSION,
            "cwd": "/home/ada/src/app",
            "hook_event_name": "SessionStart",
            "source": "startup",
            "model": "claude-sonnet-4-6",
        },
        False,
    ),
    "agentmon-codex-handler": (
        {
            "type": "agent-turn-complete",
            "thread-id": SESSION,
            "turn-id": "turn-1",
            "cwd": "/home/ada/src/app",
            "input-messages": ["Rename foo to bar."],
            "last-assistant-message": "Renamed.",
            "client": "codex-tui",
        },
        True,
    ),
    "agentmon-gemini-handler": (
        {
            "session_id": SESSION,
            "cwd": "/home/ada/src/app",
            "hook_event_name": "SessionStart",
            "timestamp": "2026-08-20T14:30:00Z",
            "source": "startup",
        },
        False,
    ),
    "agentmon-hermes-handler": (
        {
            "hook_event_name": "on_session_start",
            "session_id": SESSION,
            "cwd": "/home/ada/src/app",
            "extra": {"model": "anthropic/claude-sonnet-4.6"},
        },
        False,
    ),
}

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(180)]


@dataclass
class Built:
    sdist: Path
    wheel: Path
    wheelhouse: Path


@dataclass
class ProducerVenv:
    root: Path
    installed: set[str]

    @property
    def bin(self) -> Path:
        return self.root / "bin"


def run(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=True, **kwargs
    )


def copy_source_tree(target: Path) -> Path:
    """What the sdist is built from, without the developer's build artefacts."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(
        REPO / "src",
        target / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    shutil.copytree(REPO / "scripts" / "handlers", target / "scripts" / "handlers")
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    source = copy_source_tree(tmp_path_factory.mktemp("source"))
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", wheelhouse, source)
    # The producer piece's one dependency, at the tested version, from PyPI or pip's cache.
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        wheelhouse,
        f"msgspec=={version('msgspec')}",
    )
    [sdist] = wheelhouse.glob("agentmon_fleet-*.tar.gz")
    [wheel] = wheelhouse.glob("agentmon_fleet-*.whl")
    return Built(sdist, wheel, wheelhouse)


def installed_distributions(python: Path) -> set[str]:
    listed = run(python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check")
    return {entry["name"].lower() for entry in json.loads(listed.stdout)}


@pytest.fixture(scope="module")
def producer_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> ProducerVenv:
    root = tmp_path_factory.mktemp("producer") / "venv"
    run(sys.executable, "-m", "venv", root)
    python = root / "bin" / "python"
    before = installed_distributions(python)
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        built.wheelhouse,
        DISTRIBUTION,
    )
    return ProducerVenv(root, installed_distributions(python) - before)


def test_sdist_and_wheel_carry_the_license_the_static_assets_and_the_migrations(
    built: Built,
) -> None:
    with tarfile.open(built.sdist) as sdist:
        sdist_names = sdist.getnames()
    assert any(name.endswith("/LICENSE") for name in sdist_names)
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert any(name.startswith("agentmon/web/static/") for name in names)
    assert any(name.startswith("agentmon/store/migrations/") for name in names)
    assert "agentmon/py.typed" in names
    assert f"Name: {DISTRIBUTION}" in metadata
    assert "License-Expression: MIT" in metadata
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requirements if "extra ==" not in line]
    assert base == ["Requires-Dist: msgspec<1,>=0.22"]
    assert any("fastapi" in line and 'extra == "server"' in line for line in requirements)


def test_the_producer_install_brings_only_msgspec(producer_venv: ProducerVenv) -> None:
    assert producer_venv.installed == {DISTRIBUTION, "msgspec"}


def test_the_sdk_imports_and_builds_an_envelope_in_the_producer_install(
    producer_venv: ProducerVenv,
) -> None:
    script = textwrap.dedent(
        """
        import msgspec
        from agentmon.events import Source
        from agentmon.sdk import Emitter, session_start
        event = session_start(Source("my-agent"), "s-1", title="nightly triage")
        print(msgspec.to_builtins(event)["event"]["type"])
        """
    )
    result = run(producer_venv.bin / "python", "-c", script)
    assert result.stdout.strip() == "session.start"


@pytest.fixture
def hook_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Handler settings pointing at a port where nothing listens, with private state dirs."""
    yield {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AGENTMON_INGEST_URL": "http://127.0.0.1:9",
        "AGENTMON_HOOK_TIMEOUT": "0.5",
        "AGENTMON_SPOOL_DIR": str(tmp_path / "spool"),
        "AGENTMON_STATE_DIR": str(tmp_path / "state"),
        "AGENTMON_HOOK_LOG": str(tmp_path / "hooks.log"),
        "AGENTMON_HOOK_DELIVERY": "wait",  # the spool is read as soon as the hook returns
    }


@pytest.mark.parametrize("command", sorted(SAMPLES))
def test_each_handler_runs_in_the_producer_install_and_spools_without_a_gateway(
    producer_venv: ProducerVenv, hook_env: dict[str, str], command: str
) -> None:
    payload, as_argument = SAMPLES[command]
    text = json.dumps(payload)
    result = subprocess.run(
        [str(producer_venv.bin / command), *([text] if as_argument else [])],
        input="" if as_argument else text,
        capture_output=True,
        text=True,
        env=hook_env,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    spooled = [
        event
        for path in sorted(Path(hook_env["AGENTMON_SPOOL_DIR"]).glob("*.json"))
        for event in json.loads(path.read_text())
    ]
    assert spooled, Path(hook_env["AGENTMON_HOOK_LOG"]).read_text()
    assert all(event["correlation"]["session_id"] == SESSION for event in spooled)


def test_importing_the_handlers_and_the_sdk_loads_no_server_module() -> None:
    """Run where the server's dependencies ARE installed, so only the imports themselves count."""
    modules = [f"agentmon.integrations.{name}" for name in HANDLER_MODULES] + ["agentmon.sdk"]
    script = textwrap.dedent(
        f"""
        import importlib, json, sys
        for module in {modules!r}:
            importlib.import_module(module)
        print(json.dumps(sorted(sys.modules)))
        """
    )
    loaded = json.loads(run(sys.executable, "-c", script).stdout)
    server = [
        name
        for name in loaded
        if any(name == banned or name.startswith(banned + ".") for banned in SERVER_MODULES)
    ]
    assert server == []


def test_hooks_install_works_in_the_producer_install(
    producer_venv: ProducerVenv, hook_env: dict[str, str], tmp_path: Path
) -> None:
    """An agent's machine wires its hooks without the server's dependencies."""
    settings = tmp_path / "settings.json"
    settings.write_text('{"model": "opus"}\n')
    result = subprocess.run(
        [
            str(producer_venv.bin / "agentmon"),
            "hooks",
            "install",
            "claude-code",
            "--settings",
            str(settings),
            "--ingest-url",
            "http://10.0.0.1:8080",
        ],
        capture_output=True,
        text=True,
        env=hook_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    installed = json.loads(settings.read_text())
    assert installed["model"] == "opus"
    assert "agentmon-claude-handler" in json.dumps(installed["hooks"])


def test_a_server_command_in_the_producer_install_names_the_install_it_needs(
    producer_venv: ProducerVenv, hook_env: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(producer_venv.bin / "agentmon"), "migrate"],
        capture_output=True,
        text=True,
        env=hook_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "agentmon-fleet[server]" in result.stderr
    assert "Traceback" not in result.stderr
