"""The sample configurations in examples/ wire every hook each handler maps, in each tool's
own config format, to the right console command; they and the Claude Code plugin are exactly
what the hook specs generate (`python -m agentmon.hooks_setup.generate` rewrites them)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml
from integration_helpers import BIN

from agentmon.hooks_setup.generate import generated
from agentmon.integrations import claude, codex, gemini, hermes

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"


def test_examples_and_plugin_are_what_the_installer_writes() -> None:
    files = generated()
    assert {path.split("/")[0] for path in files} == {"examples", "integrations"}
    assert len(files) == 9
    for relative, text in files.items():
        assert (REPOSITORY / relative).read_text() == text, relative


def test_claude_code_plugin_hooks_match_the_settings_example() -> None:
    plugin = REPOSITORY / "integrations" / "claude-code-plugin"
    manifest = json.loads((plugin / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "agentmon"
    hooks = json.loads((plugin / "hooks" / "hooks.json").read_text())["hooks"]
    assert hooks == json.loads((EXAMPLES / "claude" / "settings.json").read_text())["hooks"]


def commands(entries: list[dict[str, Any]]) -> set[str]:
    return {hook["command"] for entry in entries for hook in entry["hooks"]}


def test_claude_settings_cover_every_mapped_hook() -> None:
    settings = json.loads((EXAMPLES / "claude" / "settings.json").read_text())
    assert set(settings["hooks"]) == set(claude._HANDLERS)
    assert {c for entries in settings["hooks"].values() for c in commands(entries)} == {
        "agentmon-claude-handler"
    }


def test_codex_config_and_hooks() -> None:
    config = tomllib.loads((EXAMPLES / "codex" / "config.toml").read_text())
    assert config["notify"] == ["agentmon-codex-handler"]
    hooks = json.loads((EXAMPLES / "codex" / "hooks.json").read_text())["hooks"]
    upstream = set(codex._HANDLERS) - {codex.NOTIFY_TYPE}
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
