"""The installed hook handler commands, run as a tool runs them, load none of the modules
whose import costs more than a handler's whole run: not ``re`` (which pip's console-script
wrapper imports: the handlers are installed as plain scripts), ``json``, ``typing``,
``datetime`` or ``msgspec``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PROMPT = {"session_id": "s1", "cwd": "/tmp", "prompt": "Fix the test"}
PAYLOADS = {  # each handler's first hook of a turn
    "claude": {**PROMPT, "hook_event_name": "UserPromptSubmit"},
    "codex": {**PROMPT, "hook_event_name": "UserPromptSubmit", "turn_id": "t1"},
    "gemini": {**PROMPT, "hook_event_name": "BeforeAgent"},
    "hermes": {
        "session_id": "s1",
        "hook_event_name": "pre_llm_call",
        "extra": {"turn_id": "t1", "user_message": "Fix the test"},
    },
}
COSTLY = {"re", "json", "typing", "enum", "datetime", "msgspec", "hashlib", "urllib"}


def modules_loaded_by(command: Path, stdin: str, env: dict[str, str]) -> set[str]:
    """The modules `command` imports (``python -X importtime``, through its own shebang's
    interpreter, exactly as installed)."""
    interpreter = command.read_text().splitlines()[0].removeprefix("#!").strip()
    result = subprocess.run(
        [interpreter, "-X", "importtime", str(command)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip() for line in lines}


@pytest.mark.parametrize("handler", sorted(PAYLOADS))
def test_an_installed_handler_command_loads_no_costly_module(
    handler: str, tmp_path: Path, unused_port: int
) -> None:
    env = {
        "AGENTMON_INGEST_URL": f"http://127.0.0.1:{unused_port}",
        "AGENTMON_SPOOL_DIR": str(tmp_path / "spool"),
        "AGENTMON_STATE_DIR": str(tmp_path / "state"),
        "AGENTMON_HOOK_LOG": str(tmp_path / "hooks.log"),
        # the handler sends itself, so the delivery's imports are in this process too
        "AGENTMON_HOOK_DELIVERY": "wait",
        "PATH": "/usr/bin:/bin",
    }
    command = BIN / f"agentmon-{handler}-handler"
    loaded = modules_loaded_by(command, json.dumps(PAYLOADS[handler]), env)
    assert f"agentmon.integrations.{handler}" in loaded  # the handler really ran
    assert sorted(loaded & COSTLY) == []
    assert list((tmp_path / "spool").glob("*.json"))  # and spooled what it could not send
