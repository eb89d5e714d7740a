"""The real Codex CLI's interactive TUI (0.171.0) on a pseudo-terminal, asking before it runs
a command: one session, answered Yes to the first approval prompt and No (Esc) to the second,
with agentmon's hooks installed by `agentmon hooks install codex`.

`codex exec` never asks; the TUI with `approval_policy = "on-request"` asks for a call that
wants to leave the sandbox (`sandbox_permissions: require_escalated`). Each answer is typed
only once agentmon shows the session waiting for it, so nothing here depends on timing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.codex.fake_openai import FakeOpenAI
from tests.real_agents.codex.test_codex import BIN, CONFIG, MODEL, Record, codex_world
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import settled_session, tool_spans
from tests.real_agents.terminal import ESC, Terminal

APPROVAL = "Would you like to run the following command?"


@dataclass
class Session:
    session_id: str
    rollout: list[Record]
    detail: dict[str, Any]
    waiting: list[dict[str, Any]]
    exit_code: int
    workdir: Path


def waiting_for_permission(detail: dict[str, Any]) -> bool:
    return detail["session"]["waiting_reason"] == "permission_prompt"


def rollout_records(home: Path) -> list[Record]:
    paths = list((home / "sessions").glob("*/*/*/rollout-*.jsonl"))
    if len(paths) != 1:
        return []
    return [json.loads(line) for line in paths[0].read_text().splitlines() if line.strip()]


def session_id_of(home: Path) -> str:
    (path,) = (home / "sessions").glob("*/*/*/rollout-*.jsonl")
    return path.stem[-36:]


def turn_ends(home: Path, kind: str) -> int:
    """How many `kind` events (`task_complete`, `turn_aborted`) the rollout has."""
    return sum(
        1
        for record in rollout_records(home)
        if record.get("type") == "event_msg" and record["payload"].get("type") == kind
    )


def completed_turns(home: Path) -> int:
    return turn_ends(home, "task_complete")


@pytest.fixture(scope="module")
def session(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    binary = real_agent_bin("codex@0.171.0", "codex")
    home, workdir, env = codex_world(tmp_path_factory.mktemp("codex-tui"))
    env["TERM"] = "xterm-256color"
    query = QueryClient(embedded_server.query_url)
    with FakeOpenAI() as fake:
        policy = 'approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n'
        trusted = f'\n[projects."{workdir}"]\ntrust_level = "trusted"\n'
        config = policy + CONFIG.format(model=MODEL, url=fake.url) + trusted
        (home / "config.toml").write_text(config)
        install = [str(BIN / "agentmon"), "hooks", "install", "codex", "--handler-dir",
                   str(BIN), "--ingest-url", embedded_server.ingest_url]  # fmt: skip
        subprocess.run(install, env=env, check=True, capture_output=True, timeout=60)
        command = [str(binary), "--dangerously-bypass-hook-trust", "ESCALATE touch approved.txt"]
        terminal = Terminal(command, workdir, env)
        try:
            waiting = []
            terminal.shows(APPROVAL)
            session_id = session_id_of(home)
            waiting.append(settled_session(query, session_id, waiting_for_permission))
            terminal.type("y")
            terminal.until(lambda: completed_turns(home) == 1, "finished the first turn")
            terminal.submit("ESCALATE touch refused.txt")
            terminal.shows(APPROVAL)
            waiting.append(settled_session(query, session_id, waiting_for_permission))
            terminal.type(ESC)
            terminal.until(lambda: turn_ends(home, "turn_aborted") == 1, "aborted the refused call")
            terminal.quit()
        finally:
            exit_code = terminal.close()
        detail = settled_session(query, session_id, lambda d: d["session"]["ended_at"] is not None)
        yield Session(session_id, rollout_records(home), detail, waiting, exit_code, workdir)


def turn_ids(rollout: list[Record]) -> list[str]:
    return [
        str(record["payload"]["turn_id"])
        for record in rollout
        if record.get("type") == "event_msg" and record["payload"].get("type") == "task_started"
    ]


def test_each_approval_prompt_shows_the_session_waiting_for_permission(session: Session) -> None:
    assert len(session.waiting) == 2
    for detail in session.waiting:
        assert detail["session"]["waiting_reason"] == "permission_prompt"
        assert detail["session"]["waiting_message"] == "permission requested for Bash"
    (first,) = [run for run in session.waiting[0]["runs"] if run["status"] == "running"]
    assert first["run_id"] == turn_ids(session.rollout)[0]


def test_yes_runs_the_call_and_no_closes_it_denied_and_the_turn_cancelled(session: Session) -> None:
    assert (session.workdir / "approved.txt").exists()
    assert not (session.workdir / "refused.txt").exists()
    detail = session.detail
    assert detail["session"]["waiting_reason"] is None
    runs = {run["run_id"]: run for run in detail["runs"]}
    approved_turn, refused_turn = turn_ids(session.rollout)
    assert sorted(runs) == sorted([approved_turn, refused_turn])
    assert runs[approved_turn]["status"] == "ok" and runs[approved_turn]["error_count"] == 0
    assert runs[refused_turn]["status"] == "cancelled"
    approved, refused = sorted(tool_spans(detail), key=lambda span: span["started_at"])
    assert (approved["name"], approved["status"]) == ("exec_command", "ok")
    assert (refused["name"], refused["status"]) == ("exec_command", "denied")
    assert "aborted by user" in refused["error"]
    assert [error["kind"] for error in runs[refused_turn]["errors"]] == ["permission_denied"]
