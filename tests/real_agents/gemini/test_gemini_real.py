"""Gemini CLI 0.61.0, the real binary, against a fake Gemini API, hooks into agentmon.

One module-scoped set of sessions (each `gemini -p` takes a few seconds): a tool call with
text around it, a failing shell command, a second prompt in the same session (`--resume`),
and an API error. Every assertion compares agentmon's records with the CLI's own: its
transcript (tokens per reply, de-duplicated by id), its `-o json` result, the fake's log.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient, agentmon_import
from tests.real_agents.gemini.fake_gemini import USAGE, FakeGemini
from tests.real_agents.installed import real_agent_bin

GEMINI = ("gemini-cli@0.61.0", "gemini")


@dataclass
class Session:
    session_id: str
    results: list[dict[str, Any]]
    transcript: Path
    exit_codes: list[int]


@dataclass
class World:
    server: ServerProcess
    fake: FakeGemini
    query: QueryClient
    sessions: dict[str, Session]


def _venv_bin() -> Path:
    import sys

    return Path(sys.executable).parent


def _install_hooks(home: Path) -> None:
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    subprocess.run(
        [
            str(_venv_bin() / "agentmon"),
            "hooks",
            "install",
            "gemini-cli",
            "--settings",
            str(settings),
            "--handler-dir",
            str(_venv_bin()),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
    )


def gemini_env(root: Path, home: Path, model_url: str, ingest_url: str) -> dict[str, str]:
    """The environment a Gemini CLI run gets: its own HOME, the fake model, and agentmon's
    hook state, spool and log under `root`."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GEMINI_API_KEY": "fake-key",
        "GOOGLE_GEMINI_BASE_URL": model_url,
        "AGENTMON_INGEST_URL": ingest_url,
        "AGENTMON_STATE_DIR": str(root / "state"),
        "AGENTMON_SPOOL_DIR": str(root / "spool"),
        "AGENTMON_HOOK_LOG": str(root / "hooks.log"),
        "NO_COLOR": "1",
    }


def _gemini(
    binary: Path, env: dict[str, str], cwd: Path, prompt: str, *extra: str, yolo: bool = True
) -> tuple[int, dict[str, Any]]:
    approval = ["--yolo"] if yolo else []
    result = subprocess.run(
        [str(binary), "-p", prompt, *approval, "--skip-trust", "-o", "json", *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        answer = {"stdout": result.stdout, "stderr": result.stderr[-2000:]}
    return result.returncode, answer


def import_chats(server: ServerProcess, chats: Path) -> None:
    """`agentmon import gemini-cli` of the chat recordings under `chats` into `server`."""
    env = {**os.environ, "AGENTMON_INGEST_URL": server.ingest_url}
    agentmon_import("gemini-cli", env, "--path", str(chats), timeout=60)


def _transcript_of(home: Path, session_id: str) -> Path:
    found = sorted(home.glob(f".gemini/tmp/*/chats/session-*{session_id[:8]}*.jsonl"))
    assert found, f"no transcript for {session_id}"
    return found[-1]


@pytest.fixture(scope="module")
def world(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-real")
    home, project = root / "home", root / "project"
    project.mkdir()
    _install_hooks(home)
    server = embedded_server  # shared: each test looks at its own sessions' ids
    fake = FakeGemini().start()
    env = gemini_env(root, home, fake.url, server.ingest_url)
    sessions: dict[str, Session] = {}
    try:
        for name, prompt in (
            ("tool_ok", "TOOL_OK please"),
            ("tool_fail", "TOOL_FAIL please"),
            ("api_error", "API_ERROR please"),
        ):
            code, answer = _gemini(binary, env, project, prompt)
            session_id = answer.get("session_id") or _session_from_state(root / "state")
            sessions[name] = Session(session_id, [answer], _transcript_of(home, session_id), [code])
            if name == "tool_ok":
                code, answer = _gemini(
                    binary, env, project, "PLAIN second prompt", "--resume", "latest"
                )
                sessions[name].results.append(answer)
                sessions[name].exit_codes.append(code)
        # Resuming rewrites a transcript under a new (time-stamped) name, and a later start
        # of the CLI may clean the older copy away: find each one after the last run.
        for session in sessions.values():
            session.transcript = _transcript_of(home, session.session_id)
        yield World(server, fake, QueryClient(server.query_url), sessions)
    finally:
        fake.stop()


def _session_from_state(state_dir: Path) -> str:
    newest = max((state_dir / "gemini").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return newest.stem


def transcript_replies(path: Path) -> list[dict[str, Any]]:
    """The model replies of a transcript, each once (Gemini rewrites an entry by its id);
    not the earlier replies it appends again without tokens after a cancelled turn."""
    replies: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "gemini" and isinstance(entry.get("tokens"), dict):
            replies[entry["id"]] = entry
    return list(replies.values())


def transcript_tokens(path: Path) -> dict[str, int]:
    """The transcript's token totals, each reply counted once."""
    totals: dict[str, int] = {}
    for tokens in (reply["tokens"] for reply in transcript_replies(path)):
        for key, value in tokens.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def settled(world: World, name: str, runs: int) -> dict[str, Any]:
    session_id = world.sessions[name].session_id
    return world.query.wait_for_session(
        session_id,
        lambda d: (
            d.get("session", {}).get("ended_at") is not None
            and len(d.get("runs", [])) >= runs
            and all(r.get("ended_at") for r in d.get("runs", []))
        ),
    )


def spans_of(world: World, run_id: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = world.query.run(run_id)["spans"]
    return spans


def test_a_tool_call_and_a_resumed_second_prompt(world: World) -> None:
    session = world.sessions["tool_ok"]
    assert session.exit_codes == [0, 0]
    detail = settled(world, "tool_ok", 2)
    first, second = detail["runs"]
    assert [first["input"], second["input"]] == ["TOOL_OK please", "PLAIN second prompt"]
    # the answer is all the text of the turn, before and after the tool call
    assert first["output"] == "Let me look. The tool said hello."
    assert session.results[0]["response"] in first["output"]
    assert second["output"] == session.results[1]["response"] == "Just text."
    assert [run["status"] for run in detail["runs"]] == ["ok", "ok"]
    spans = spans_of(world, first["run_id"])
    assert [span["kind"] for span in spans] == ["llm", "tool", "llm"]
    tool = spans[1]
    assert tool["name"] == "run_shell_command" and tool["status"] == "ok"
    assert tool["input"] == {"command": "echo hello-from-tool"}
    assert "hello-from-tool" in tool["output"] and tool["duration_ms"] > 0
    assert detail["session"]["end_reason"] == "exit"


def test_models_come_from_the_calls(world: World) -> None:
    detail = settled(world, "tool_ok", 2)
    models = {
        reply.get("model") for reply in transcript_replies(world.sessions["tool_ok"].transcript)
    }
    assert len(models) == 1
    (model,) = models
    assert detail["session"]["model"] == model
    assert [run["model"] for run in detail["runs"]] == [model, model]
    asked = {
        r["path"].split("/models/")[1].split(":")[0]
        for r in world.fake.requests
        if r["kind"] == "main"
    }
    assert asked == {model}


@pytest.mark.parametrize("name", ["tool_ok", "tool_fail"])
def test_tokens_are_the_transcripts_deduplicated_totals(world: World, name: str) -> None:
    runs = 2 if name == "tool_ok" else 1
    detail = settled(world, name, runs)
    totals = transcript_tokens(world.sessions[name].transcript)
    replies = 3 if name == "tool_ok" else 2
    assert totals["cached"] == replies * USAGE["cached"]  # the fake's figures reached it
    assert detail["session"]["tokens"] == {
        "input": totals["input"] - totals["cached"],  # agentmon's input excludes cache reads
        "output": totals["output"],
        "cache_read": totals["cached"],
        "cache_write": 0,
        "total": totals["total"],
    }
    llm_spans = [
        s for run in detail["runs"] for s in spans_of(world, run["run_id"]) if s["kind"] == "llm"
    ]
    assert len(llm_spans) == replies


def test_a_failing_shell_command_is_an_error(world: World) -> None:
    detail = settled(world, "tool_fail", 1)
    (run,) = detail["runs"]
    tool = next(s for s in spans_of(world, run["run_id"]) if s["kind"] == "tool")
    assert tool["status"] == "error"
    assert tool["error"].startswith("exit code 2: ls: cannot access")
    assert run["error_count"] == 1 and detail["session"]["error_count"] == 1
    assert run["output"] == world.sessions["tool_fail"].results[0]["response"]


def test_the_pre_compress_before_every_call_opens_no_compaction(world: World) -> None:
    for name in ("tool_ok", "tool_fail"):
        detail = settled(world, name, 1)
        kinds = {s["kind"] for run in detail["runs"] for s in spans_of(world, run["run_id"])}
        assert "compaction" not in kinds


def test_an_api_error_in_headless_mode_reaches_no_hook_after_the_call(world: World) -> None:
    """The CLI exits (144) straight after the 400: no AfterModel, AfterAgent or SessionEnd
    fires, so with hooks alone the call and the run stay open; the CLI does not flush its OTel
    export either (no `gemini_cli.api_error` is sent). Recorded here so a CLI that starts
    sending it shows."""
    session = world.sessions["api_error"]
    assert session.exit_codes != [0]
    assert [r["kind"] for r in world.fake.requests if r["kind"] == "error"] == ["error"]
    detail = world.query.wait_for_session(session.session_id, lambda d: len(d.get("runs", [])) == 1)
    (run,) = detail["runs"]
    assert run["input"] == "API_ERROR please" and run["ended_at"] is None
    assert [s["kind"] for s in spans_of(world, run["run_id"])] == ["llm"]
