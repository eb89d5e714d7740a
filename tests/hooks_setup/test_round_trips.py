"""`agentmon hooks install` then `uninstall` on each tool's real settings file: the user's
settings, hooks and comments stay, installing twice changes nothing, every changed file is
backed up first, and uninstall gives back the file as it was."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentmon.hooks_setup.specs import CLAUDE_CODE, CODEX, GEMINI_CLI, HERMES
from tests.hooks_setup.conftest import SAMPLES, Home, Hooks


def install_args(tool: str, home: Home) -> list[str]:
    extra = ["--openclaw-build", str(home.openclaw_build)] if tool == "openclaw" else []
    return ["install", tool, *extra]


def commands(groups: list[dict[str, Any]]) -> list[str]:
    return [hook["command"] for group in groups for hook in group["hooks"]]


def check_claude(home: Path) -> None:
    settings = json.loads((home / ".claude/settings.json").read_text())
    assert settings["model"] == "opus" and settings["env"] == {"OTEL_METRICS_EXPORTER": "otlp"}
    assert set(settings["hooks"]) == {hook.event for hook in CLAUDE_CODE.hooks}
    assert commands(settings["hooks"]["PreToolUse"]) == ["~/bin/guard.sh", CLAUDE_CODE.handler]
    assert commands(settings["hooks"]["Stop"]) == [CLAUDE_CODE.handler]


def check_codex(home: Path) -> None:
    text = (home / ".codex/config.toml").read_text()
    assert "# my Codex settings" in text and "# the one I like" in text and "# things I try" in text
    config = tomllib.loads(text)
    assert config["notify"] == [CODEX.handler]
    assert config["features"] == {"web_search": True, "hooks": True}
    assert config["profiles"]["fast"]["model"] == "gpt-5.4-mini"
    hooks = json.loads((home / ".codex/hooks.json").read_text())["hooks"]
    assert set(hooks) == {hook.event for hook in CODEX.hooks}
    assert commands(hooks["Stop"]) == ["say done", CODEX.handler]
    assert hooks["SessionStart"][0]["matcher"] == "startup|resume|clear"


def check_gemini(home: Path) -> None:
    text = (home / ".gemini/settings.json").read_text()
    assert text.startswith('{\n    "theme"')  # the user's four-space indentation
    settings = json.loads(text)
    assert settings["theme"] == "GitHub" and settings["hooksConfig"] == {"enabled": True}
    assert commands(settings["hooks"]["BeforeTool"]) == ["audit-shell", GEMINI_CLI.handler]
    ours = settings["hooks"]["AfterModel"][0]["hooks"][0]
    assert ours == {
        "name": "agentmon",
        "type": "command",
        "command": GEMINI_CLI.handler,
        "timeout": 5000,
    }


def check_hermes(home: Path) -> None:
    text = (home / ".hermes/config.yaml").read_text()
    assert "# Hermes settings" in text and "# main model" in text and "# my audit hook" in text
    config = yaml.safe_load(text)
    assert config["toolsets"] == ["web", "terminal"]
    assert set(config["hooks"]) == {hook.event for hook in HERMES.hooks}
    assert config["hooks"]["pre_tool_call"] == [
        {"matcher": "terminal", "command": "~/bin/audit.sh", "timeout": 3},
        {"matcher": ".*", "command": HERMES.handler, "timeout": 5},
    ]


def check_openclaw(home: Path) -> None:
    config = json.loads((home / ".openclaw/openclaw.json").read_text())
    assert config["agents"]["defaults"]["model"] == "anthropic/claude-opus-4"
    entries = config["hooks"]["internal"]["entries"]
    assert entries == {"session-memory": {"enabled": True}, "agentmon": {"enabled": True}}
    assert config["plugins"]["entries"]["agentmon"]["hooks"]["allowConversationAccess"] is True
    assert (home / ".openclaw/hooks/agentmon/HOOK.md").is_file()
    assert (home / ".openclaw/hooks/agentmon/lib/send.js").is_file()
    assert (home / ".openclaw/extensions/agentmon/openclaw.plugin.json").is_file()
    env = (home / ".openclaw/.env").read_text()
    assert env.startswith("# gateway environment\nOPENAI_API_KEY=sk-mine\n")
    assert "AGENTMON_INGEST_URL=http://127.0.0.1:8080\n" in env


CHECKS = {
    "claude-code": check_claude,
    "codex": check_codex,
    "gemini-cli": check_gemini,
    "hermes": check_hermes,
    "openclaw": check_openclaw,
}


@pytest.mark.parametrize("tool", sorted(SAMPLES))
def test_install_twice_then_uninstall_round_trip(tool: str, home: Home, hooks: Hooks) -> None:
    original = home.write_samples(tool)

    code, out = hooks(*install_args(tool, home))
    assert code == 0, out
    CHECKS[tool](home.path)
    installed = home.files()
    backups = home.backups()
    assert {backup.read_text() for backup in backups} == set(original.values())
    assert len(backups) == len(original)

    code, out = hooks(*install_args(tool, home))
    assert code == 0 and "nothing changed" in out
    assert home.files() == installed  # no change, no new backup

    code, out = hooks("status")
    assert f"{tool:<12} wired (" in out

    code, out = hooks("uninstall", tool)
    assert code == 0, out
    after = {path: text for path, text in home.files().items() if path not in home.backups()}
    assert after == original
    assert not (home.path / ".openclaw" / "hooks").exists()
    code, out = hooks("uninstall", tool)
    assert "nothing changed" in out


@pytest.mark.parametrize("tool", sorted(SAMPLES))
def test_install_into_a_home_without_the_tool_then_uninstall(
    tool: str, home: Home, hooks: Hooks
) -> None:
    code, _ = hooks(*install_args(tool, home))
    assert code == 0
    assert home.files() and not home.backups()
    code, _ = hooks("uninstall", tool)
    assert code == 0
    left = [path for path in home.files() if ".agentmon-backup-" not in path.name]
    assert left == []


@pytest.mark.parametrize("tool", sorted(SAMPLES))
def test_dry_run_prints_a_diff_and_touches_nothing(tool: str, home: Home, hooks: Hooks) -> None:
    home.write_samples(tool)
    before = home.files()
    code, out = hooks(*install_args(tool, home), "--dry-run")
    assert code == 0
    assert home.files() == before
    assert "--- " in out and "+++ " in out and "\n+" in out
    hooks(*install_args(tool, home))
    installed = home.files()
    code, out = hooks("uninstall", tool, "--dry-run")
    assert code == 0 and "\n-" in out
    assert home.files() == installed


CODEX_OTEL_LOGS = """model = "gpt-5.4"

[otel]
log_user_prompt = true
exporter = { otlp-http = { endpoint = "http://10.0.0.1:4318/v1/logs", protocol = "json" } }
"""


@pytest.mark.parametrize(
    ("exporter", "traces"),
    [
        (
            '{ otlp-http = { endpoint = "http://10.0.0.1:4318/v1/logs", protocol = "json" } }',
            {"otlp-http": {"endpoint": "http://10.0.0.1:4318/v1/traces", "protocol": "json"}},
        ),
        (
            '{ otlp-grpc = { endpoint = "http://10.0.0.1:4317" } }',
            {"otlp-grpc": {"endpoint": "http://10.0.0.1:4317"}},
        ),
        ('{ otlp-http = { endpoint = "http://10.0.0.1:4318/ingest" } }', None),
        ('"none"', None),
    ],
)
def test_codex_otel_logs_get_the_trace_exporter_that_names_their_turns(
    home: Home, hooks: Hooks, exporter: str, traces: dict[str, Any] | None
) -> None:
    """Codex's logs name no turn: beside the hooks they would be a second run per turn;
    its traces name it. Install adds a marked `trace_exporter` sending where the logs go."""
    original = CODEX_OTEL_LOGS.replace(
        '{ otlp-http = { endpoint = "http://10.0.0.1:4318/v1/logs", protocol = "json" } }',
        exporter,
    )
    config = home.write(".codex/config.toml", original)
    code, out = hooks(*install_args("codex", home))
    assert code == 0, out
    otel = tomllib.loads(config.read_text())["otel"]
    assert otel.get("trace_exporter") == traces
    assert ("[otel] trace_exporter added" in out) is (traces is not None)
    code, out = hooks(*install_args("codex", home))
    assert "nothing changed" in out
    code, out = hooks("uninstall", "codex")
    assert code == 0 and config.read_text() == original


def test_status_says_when_codex_exports_otel_logs_without_traces(home: Home, hooks: Hooks) -> None:
    """OTel logs configured by hand after the install: status says turns count twice."""
    code, out = hooks(*install_args("codex", home))
    assert code == 0, out
    config = home.path / ".codex/config.toml"
    code, out = hooks("status")
    assert "OTel logs without trace_exporter" not in out
    config.write_text(config.read_text() + CODEX_OTEL_LOGS.split("\n", 2)[2])
    code, out = hooks("status")
    assert "codex" in out and "OTel logs without trace_exporter" in out
