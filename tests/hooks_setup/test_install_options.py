"""--ingest-url and --key reach the hook command (the key is never printed in full), what the
user set up is left alone, bad files stop the install with one line, and `status` reports
the gateway; the installed command really delivers to a running agentmon."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from pathlib import Path

import yaml

from agentmon.hooks_setup.specs import CLAUDE_CODE, HERMES
from tests.conftest import ServerProcess, free_port
from tests.hooks_setup.conftest import Home, Hooks

KEY = "sk-agentmon-0123456789abcdefSECRET"
BIN = Path(sys.executable).parent


def claude_commands(home: Home) -> list[str]:
    settings = json.loads((home.path / ".claude/settings.json").read_text())
    return [hook["command"] for group in settings["hooks"]["Stop"] for hook in group["hooks"]]


def test_url_and_key_go_into_the_command_and_the_key_is_never_printed(
    home: Home, hooks: Hooks
) -> None:
    home.write_samples("claude-code")
    code, out = hooks(
        "install", "claude-code", "--ingest-url", "http://10.0.0.5:8080", "--key", KEY, "--dry-run"
    )
    assert code == 0 and KEY not in out and "****CRET" in out
    code, out = hooks(
        "install", "claude-code", "--ingest-url", "http://10.0.0.5:8080", "--key", KEY
    )
    assert code == 0 and KEY not in out
    assert claude_commands(home) == [
        f"env AGENTMON_INGEST_URL=http://10.0.0.5:8080 AGENTMON_API_KEY={KEY} "
        "agentmon-claude-handler"
    ]
    code, out = hooks("install", "claude-code", "--ingest-url", "http://10.0.0.6:8080", "--dry-run")
    assert KEY not in out  # the old key shows up in the diff's removed lines: masked too
    code, out = hooks("install", "claude-code", "--ingest-url", "http://10.0.0.6:8080")
    assert claude_commands(home) == [
        "env AGENTMON_INGEST_URL=http://10.0.0.6:8080 agentmon-claude-handler"
    ]
    settings = json.loads((home.path / ".claude/settings.json").read_text())
    pre_tool = [h["command"] for g in settings["hooks"]["PreToolUse"] for h in g["hooks"]]
    assert pre_tool == [
        "~/bin/guard.sh",
        shlex.join(["env", "AGENTMON_INGEST_URL=http://10.0.0.6:8080", CLAUDE_CODE.handler]),
    ]
    hooks("uninstall", "claude-code")
    assert home.holds_samples("claude-code")


def test_codex_keeps_a_notify_program_of_the_users(home: Home, hooks: Hooks) -> None:
    config = home.write(".codex/config.toml", 'notify = ["notify-send", "codex"]\n')
    code, out = hooks("install", "codex")
    assert code == 0
    assert "notify already runs" in out
    assert tomllib.loads(config.read_text())["notify"] == ["notify-send", "codex"]
    hooks("uninstall", "codex")
    assert config.read_text() == 'notify = ["notify-send", "codex"]\n'


def test_codex_notify_gets_the_environment_as_argv(home: Home, hooks: Hooks) -> None:
    hooks("install", "codex", "--ingest-url", "http://10.0.0.5:8080")
    config = tomllib.loads((home.path / ".codex/config.toml").read_text())
    assert config["notify"] == [
        "env",
        "AGENTMON_INGEST_URL=http://10.0.0.5:8080",
        "agentmon-codex-handler",
    ]


def test_a_settings_file_with_comments_or_bad_syntax_is_left_alone(
    home: Home, hooks: Hooks, capsys: object
) -> None:
    settings = home.write(".gemini/settings.json", '{\n  // my theme\n  "theme": "GitHub"\n}\n')
    code, _ = hooks("install", "gemini-cli")
    assert code == 2
    assert settings.read_text() == '{\n  // my theme\n  "theme": "GitHub"\n}\n'
    assert not home.backups()
    hermes = home.write(".hermes/config.yaml", "hooks: [unclosed\n")
    code, _ = hooks("install", "hermes")
    assert code == 2 and hermes.read_text() == "hooks: [unclosed\n"


def test_gemini_with_hooks_switched_off_is_reported(home: Home, hooks: Hooks) -> None:
    home.write(".gemini/settings.json", '{\n  "hooksConfig": {\n    "enabled": false\n  }\n}\n')
    code, out = hooks("install", "gemini-cli")
    assert code == 0 and "hooksConfig.enabled is false" in out


def test_openclaw_without_a_built_hook_says_what_is_needed(home: Home, hooks: Hooks) -> None:
    missing = home.path / "nothing-built"
    code, _ = hooks("install", "openclaw", "--openclaw-build", str(missing))
    assert code == 2
    assert not (home.path / ".openclaw").exists()


def test_openclaw_writes_the_gateway_environment(home: Home, hooks: Hooks) -> None:
    home.write_samples("openclaw")
    hooks(
        "install",
        "openclaw",
        "--openclaw-build",
        str(home.openclaw_build),
        "--ingest-url",
        "http://192.168.122.1:8080",
        "--vm-name",
        "zap",
        "--key",
        KEY,
    )
    env = (home.path / ".openclaw/.env").read_text()
    assert "AGENTMON_INGEST_URL=http://192.168.122.1:8080\n" in env
    assert "AGENTMON_VM_NAME=zap\n" in env and f"AGENTMON_API_KEY={KEY}\n" in env
    hooks("uninstall", "openclaw")
    assert home.holds_samples("openclaw")


def test_settings_elsewhere_with_settings_flag(home: Home, hooks: Hooks, tmp_path: Path) -> None:
    project = tmp_path / "project" / ".claude" / "settings.json"
    code, _ = hooks("install", "claude-code", "--settings", str(project))
    assert code == 0 and project.is_file()
    assert not (home.path / ".claude").exists()


def test_status_reports_the_gateway(
    home: Home, hooks: Hooks, embedded_server: ServerProcess
) -> None:
    code, out = hooks("status", "--ingest-url", embedded_server.ingest_url)
    assert code == 0
    assert f"gateway      {embedded_server.ingest_url}: answers (HTTP 200)" in out
    assert "claude-code  not wired" in out
    closed = f"http://127.0.0.1:{free_port()}"
    code, out = hooks("status", "--ingest-url", closed)
    assert code == 1 and f"gateway      {closed}: does not answer" in out


def _session_stored(server: ServerProcess, session_id: str) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.query_url}/v1/sessions/{session_id}") as answer:
                return bool(answer.status == 200)
        except OSError:
            time.sleep(0.2)
    return False


def run_hook(command: str | list[str], payload: dict[str, object], tmp_path: Path) -> None:
    """As the tool does: a string through a shell (Claude Code), argv without one (Hermes)."""
    state = tmp_path / "handler-state"
    env = {
        **os.environ,
        "AGENTMON_INGEST_URL": "http://127.0.0.1:9",  # the installed command must win
        "AGENTMON_SPOOL_DIR": str(state / "spool"),
        "AGENTMON_STATE_DIR": str(state / "state"),
        "AGENTMON_HOOK_LOG": str(state / "hooks.log"),
    }
    shell = isinstance(command, str)
    subprocess.run(
        command, shell=shell, input=json.dumps(payload), text=True, check=True, env=env, timeout=30
    )


def test_the_installed_commands_deliver_to_the_gateway(
    home: Home, hooks: Hooks, embedded_server: ServerProcess, tmp_path: Path
) -> None:
    url = embedded_server.ingest_url
    # the handlers' directory is not on the PATH of the tool: --handler-dir writes it
    hooks("install", "claude-code", "--ingest-url", url, "--handler-dir", str(BIN))
    hooks("install", "hermes", "--ingest-url", url, "--handler-dir", str(BIN))

    # Claude Code runs its hook commands through a shell
    claude_session = f"claude-{uuid.uuid4()}"
    command = claude_commands(home)[0]
    payload: dict[str, object] = {
        "session_id": claude_session,
        "hook_event_name": "SessionStart",
        "cwd": "/w",
    }
    run_hook(command, payload, tmp_path)
    assert _session_stored(embedded_server, claude_session)

    # Hermes splits the command into argv and runs it without a shell
    hermes_session = f"hermes-{uuid.uuid4()}"
    config = yaml.safe_load((home.path / ".hermes/config.yaml").read_text())
    argv = shlex.split(config["hooks"]["on_session_start"][0]["command"])
    assert argv[-1] == str(BIN / HERMES.handler)
    payload = {
        "hook_event_name": "on_session_start",
        "session_id": hermes_session,
        "cwd": "/w",
        "extra": {"model": "m", "platform": "cli"},
    }
    run_hook(argv, payload, tmp_path)
    assert _session_stored(embedded_server, hermes_session)


def test_uninstall_recognises_handlers_given_by_path(home: Home, hooks: Hooks) -> None:
    home.write_samples("hermes")
    hooks("install", "hermes", "--handler-dir", str(BIN))
    text = (home.path / ".hermes/config.yaml").read_text()
    assert f"command: {BIN / HERMES.handler}" in text
    code, _ = hooks("install", "hermes")  # the bare name replaces the path, no duplicates
    assert code == 0
    config = yaml.safe_load((home.path / ".hermes/config.yaml").read_text())
    assert [entry["command"] for entry in config["hooks"]["on_session_start"]] == [HERMES.handler]
    hooks("uninstall", "hermes")
    assert home.holds_samples("hermes")


def test_uninstall_without_our_hooks_changes_nothing(home: Home, hooks: Hooks) -> None:
    settings = home.write(".claude/settings.json", '{\n  "hooks": {},\n  "model": "opus"\n}\n')
    code, out = hooks("uninstall", "claude-code")
    assert code == 0 and "nothing changed" in out
    assert settings.read_text() == '{\n  "hooks": {},\n  "model": "opus"\n}\n'
    assert not home.backups()


def test_a_hook_event_that_is_not_a_list_stops_the_install(home: Home, hooks: Hooks) -> None:
    settings = home.write(".claude/settings.json", '{"hooks": {"Stop": "oops"}}')
    code, _ = hooks("install", "claude-code")
    assert code == 2
    assert settings.read_text() == '{"hooks": {"Stop": "oops"}}'
