"""Gemini CLI 0.61.0's interactive TUI on a pseudo-terminal, asking before it runs a shell
command (approval mode `default`), hooks installed by `agentmon hooks install gemini-cli`.

One session: the first prompt's call is allowed ("1. Allow once"), the second prompt's call
refused ("3. No, suggest changes"), then a third prompt and `/quit`. Refusing cancels the
whole turn: the CLI fires no further hook (no `AfterTool`, no `AfterAgent`) and records the
call's answer (`[Operation Cancelled] Reason: User denied execution.`) and an `info`
"Request cancelled." in its transcript, which the next hook reads.

Every key is typed once the screen (and, for an answer, agentmon) shows what it answers: a
prompt once the TUI is idle (its last frame shows the empty input box and no hook running).
Keys typed while it finishes a turn can still be dropped (an Enter, or the text itself), so
each is typed again, until the CLI shows it took it: never after a fixed sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.gemini.fake_gemini import FakeGemini
from tests.real_agents.gemini.test_gemini_real import (
    GEMINI,
    _install_hooks,
    gemini_env,
    import_chats,
    transcript_replies,
    transcript_tokens,
)
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import settled_session, tool_spans
from tests.real_agents.terminal import Terminal

PROMPTS = ("ASK_RUN please", "ASK_DENY please", "PLAIN third prompt")
QUESTION = "Allow execution of"
ALLOW_ONCE, NO = "1", "3"
BUSY = "esc to cancel"  # the TUI's status line while it works on a prompt
BUSY_MARKS = (BUSY.replace(" ", ""), "ExecutingHook")
EMPTY_INPUT = "Typeyourmessageor@path/to/file"  # the input box's placeholder, spaces out
KILL_LINE_LEFT = "\x15"  # Ctrl+U
RETRY_SECONDS = 4.0
ATTEMPTS = 8


@dataclass
class Session:
    session_id: str
    transcript: Path
    waiting: list[dict[str, Any]]
    detail: dict[str, Any]
    exit_code: int
    project: Path


def _transcript(home: Path) -> Path | None:
    found = list(home.glob(".gemini/tmp/*/chats/session-*.jsonl"))
    return found[0] if len(found) == 1 else None


def _entries(home: Path) -> list[dict[str, Any]]:
    path = _transcript(home)
    if path is None:
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _recorded(home: Path, wanted: Callable[[dict[str, Any]], bool]) -> bool:
    try:
        return any(wanted(entry) for entry in _entries(home))
    except ValueError:  # a line being written
        return False


def _prompted(home: Path, prompt: str) -> Callable[[], bool]:
    return lambda: _recorded(
        home, lambda e: e.get("type") == "user" and e.get("content") == [{"text": prompt}]
    )


def _cancelled(home: Path) -> bool:
    return _recorded(home, lambda e: e.get("type") == "info" and "cancelled" in str(e))


def _answered(home: Path, text: str) -> Callable[[], bool]:
    return lambda: _recorded(home, lambda e: e.get("type") == "gemini" and e["content"] == text)


def _press(terminal: Terminal, key: str, done: Callable[[], bool], what: str) -> None:
    """Type `key` until `done` shows the CLI took it (each try waits a few seconds)."""
    for _ in range(ATTEMPTS):
        terminal.mark()
        terminal.type(key)
        deadline = time.monotonic() + RETRY_SECONDS
        while time.monotonic() < deadline:
            if done():
                return
            if not terminal.pump():  # the CLI closed the terminal
                terminal.process.wait(timeout=30)
                assert done(), f"the CLI exited before {what}: {terminal.text()[-2000:]}"
                return
    pytest.fail(f"never {what}; screen: {terminal.text()[-2000:]}")


def _idle(terminal: Terminal) -> bool:
    """Whether the last frame drawn shows the empty input box and no work in progress (the
    status line above the box names the hooks running, or "esc to cancel")."""
    frames = terminal.text().split(EMPTY_INPUT)
    return len(frames) >= 2 and not any(mark in frames[-2] for mark in BUSY_MARKS)


def _type_text(terminal: Terminal, text: str) -> None:
    """Type `text` into the empty input box once the TUI is idle, again (the box cleared
    first) when it does not show: keys typed while it finishes a turn can be dropped."""
    for _ in range(ATTEMPTS):
        terminal.until(lambda: _idle(terminal), "was idle")
        terminal.mark()
        terminal.type(text)
        deadline = time.monotonic() + RETRY_SECONDS
        while time.monotonic() < deadline:
            if text.replace(" ", "") in terminal.text():
                return
            assert terminal.pump(), f"the CLI exited; screen: {terminal.text()[-2000:]}"
        terminal.type(KILL_LINE_LEFT)  # whatever part of it did arrive
    pytest.fail(f"never showed {text!r}; screen: {terminal.text()[-2000:]}")


def _submit(terminal: Terminal, home: Path, prompt: str) -> None:
    _type_text(terminal, prompt)
    busy = BUSY.replace(" ", "")
    took = _prompted(home, prompt)
    _press(terminal, "\r", lambda: busy in terminal.text() or took(), f"took {prompt!r}")


def _waiting(query: QueryClient, session_id: str, command: str) -> dict[str, Any]:
    return settled_session(
        query,
        session_id,
        lambda d: d["session"]["waiting_message"] == f"Confirm Shell Command: {command}",
    )


def _run_over(query: QueryClient, session_id: str, prompt: str) -> Callable[[], bool]:
    def over() -> bool:
        runs = query.session(session_id)["runs"]
        return any(run["input"] == prompt and run["ended_at"] for run in runs)

    return over


@pytest.fixture(scope="module")
def session(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-tui")
    home, project = root / "home", root / "project"
    project.mkdir()
    _install_hooks(home)
    query = QueryClient(embedded_server.query_url)
    fake = FakeGemini().start()
    env = {**gemini_env(root, home, fake.url, embedded_server.ingest_url), "TERM": "xterm-256color"}
    terminal = Terminal([str(binary), "--skip-trust", "-i", PROMPTS[0]], project, env)
    try:
        terminal.shows(QUESTION)
        transcript = _transcript(home)
        assert transcript is not None
        session_id = str(json.loads(transcript.read_text().splitlines()[0])["sessionId"])
        waiting = [_waiting(query, session_id, "touch ./approved.txt")]
        _press(terminal, ALLOW_ONCE, (project / "approved.txt").exists, "ran the allowed call")
        terminal.until(_answered(home, "Ran it."), "answered the first prompt")
        terminal.until(_run_over(query, session_id, PROMPTS[0]), "ended the first run")
        _submit(terminal, home, PROMPTS[1])
        terminal.shows(QUESTION)
        waiting.append(_waiting(query, session_id, "touch ./refused.txt"))
        _press(terminal, NO, lambda: _cancelled(home), "cancelled the refused call")
        _submit(terminal, home, PROMPTS[2])
        terminal.until(_answered(home, "Just text."), "answered the third prompt")
        terminal.until(_run_over(query, session_id, PROMPTS[2]), "ended the third run")
        _type_text(terminal, "/quit")
        _press(terminal, "\r", lambda: terminal.process.poll() is not None, "quit")
    finally:
        exit_code = terminal.close()
        fake.stop()
    detail = settled_session(query, session_id, lambda d: d["session"]["ended_at"] is not None)
    yield Session(session_id, transcript, waiting, detail, exit_code, project)


def _tool_calls(path: Path) -> list[dict[str, Any]]:
    return [call for reply in transcript_replies(path) for call in reply.get("toolCalls", [])]


def test_each_permission_prompt_shows_the_session_waiting_with_the_question(
    session: Session,
) -> None:
    first, second = session.waiting
    assert [detail["session"]["waiting_reason"] for detail in session.waiting] == [
        "permission_prompt"
    ] * 2
    assert [detail["session"]["waiting_message"] for detail in session.waiting] == [
        "Confirm Shell Command: touch ./approved.txt",
        "Confirm Shell Command: touch ./refused.txt",
    ]
    (running,) = [run for run in first["runs"] if run["status"] == "running"]
    assert running["input"] == PROMPTS[0]
    (running,) = [run for run in second["runs"] if run["status"] == "running"]
    assert running["input"] == PROMPTS[1]


def test_allow_once_runs_the_call_and_no_cancels_the_turn(session: Session) -> None:
    assert session.exit_code == 0
    assert (session.project / "approved.txt").exists()
    assert not (session.project / "refused.txt").exists()
    calls = _tool_calls(session.transcript)
    assert [call["status"] for call in calls] == ["success", "cancelled"]
    refusal = calls[1]["result"][0]["functionResponse"]["response"]["error"]
    assert "User denied execution" in refusal

    detail = session.detail
    assert detail["session"]["waiting_reason"] is None
    assert detail["session"]["end_reason"] == "exit"
    runs = detail["runs"]
    assert [run["input"] for run in runs] == list(PROMPTS)
    assert [run["status"] for run in runs] == ["ok", "cancelled", "ok"]
    assert [run["error_count"] for run in runs] == [0, 1, 0]
    assert [error["kind"] for error in runs[1]["errors"]] == ["permission_denied"]
    allowed, refused = tool_spans(detail)
    assert (allowed["name"], allowed["status"]) == ("run_shell_command", "ok")
    assert (refused["name"], refused["status"], refused["error"]) == (
        "run_shell_command",
        "denied",
        refusal,
    )
    assert runs[1]["errors"][0]["span_id"] == refused["span_id"]


def test_the_rebuilt_history_is_no_compaction_and_tokens_count_once(session: Session) -> None:
    """After the cancelled turn the CLI writes its history again under new ids (replies
    without tokens) and a `$set.messages` checkpoint of it: no compaction, nothing counted."""
    spans = [span for run in session.detail["runs"] for span in run["spans"]]
    assert "compaction" not in {span["kind"] for span in spans}
    replies = transcript_replies(session.transcript)
    assert len([span for span in spans if span["kind"] == "llm"]) == len(replies) == 4
    totals = transcript_tokens(session.transcript)
    assert session.detail["session"]["tokens"] == {
        "input": totals["input"] - totals["cached"],
        "output": totals["output"],
        "cache_read": totals["cached"],
        "cache_write": 0,
        "total": totals["total"],
    }


def test_importing_the_session_adds_nothing(
    session: Session, embedded_server: ServerProcess
) -> None:
    def shape(detail: dict[str, Any]) -> list[Any]:
        return [
            (run["run_id"], run["status"], run["error_count"], run["tokens"])
            for run in detail["runs"]
        ] + sorted(
            (s["span_id"], s["kind"], s["status"]) for run in detail["runs"] for s in run["spans"]
        )

    query = QueryClient(embedded_server.query_url)
    import_chats(embedded_server, session.transcript.parent)
    again = settled_session(query, session.session_id, lambda d: True)
    assert shape(again) == shape(session.detail)
