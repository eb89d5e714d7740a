"""The sample configurations in examples/ wire every hook each handler maps, in each tool's
own config format, to the right console command."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml
from integration_helpers import BIN

from agentmon.integrations import claude, codex, gemini, hermes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def commands(entries: list[dict[str, Any]]) -> set[str]:
    return {hook["command"] for entry in entries for hook in entry["hooks"]}


def test_claude_settings_cover_every_mapped_hook() -> None:
    settings = json.loads((EXAMPLES / "claude" / "settings.json").read_text())
    assert set(settings["hooks"]) == set(claude._HANDLERS)
    assert {c for entries in settings["hooks"].values() for c in commands(entries)} == {
        "agentmon-claude-handler"
    }
    assert settings["env"]["AGENTMON_INGEST_URL"].startswith("http")


def test_codex_config_and_hooks() -> None:
    config = tomllib.loads((EXAMPLES / "codex" / "config.toml").read_text())
    assert config["notify"] == ["agentmon-codex-handler"]
    hooks = json.loads((EXAMPLES / "codex" / "hooks.json").read_text())["hooks"]
    upstream = set(codex._HANDLERS) - {codex.NOTIFY_TYPE, "SessionEnd"}
    assert set(hooks) == upstream
    assert all(commands(entries) == {"agentmon-codex-handler"} for entries in hooks.values())


def test_gemini_settings_cover_every_mapped_hook() -> None:
    settings = json.loads((EXAMPLES / "gemini" / "settings.json").read_text())
    originals = {"onStart", "onStop", "onToolCall", "onToolResult"}
    assert set(settings["hooks"]) == set(gemini._HANDLERS) - originals
    for entries in settings["hooks"].values():
        assert commands(entries) == {"agentmon-gemini-handler"}
        assert all(isinstance(hook["timeout"], int) for entry in entries for hook in entry["hooks"])


def test_hermes_config_covers_every_mapped_hook() -> None:
    config = yaml.safe_load((EXAMPLES / "hermes" / "config.yaml").read_text())
    assert set(config["hooks"]) == set(hermes._HANDLERS)
    assert {entry["command"] for entries in config["hooks"].values() for entry in entries} == {
        "agentmon-hermes-handler"
    }


def test_the_configured_commands_are_installed() -> None:
    for tool in ("claude", "codex", "gemini", "hermes"):
        assert (BIN / f"agentmon-{tool}-handler").exists()
