"""Gemini CLI 0.61.0 really compressing its chat, hooks into agentmon.

`model.compressionThreshold` set very low makes the CLI compress the history before a
resumed session's first call: it asks the model for a `<state_snapshot>` (and to check it),
then replaces the history with it, which the transcript records as a `$set.messages`
checkpoint. `PreCompress` fires before every call, compressing or not: the compaction must
be recorded once, in the run it happened in, with the figures it really had.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.gemini.fake_gemini import SNAPSHOT, FakeGemini
from tests.real_agents.gemini.test_gemini_otel import enable_telemetry
from tests.real_agents.gemini.test_gemini_real import (
    GEMINI,
    _gemini,
    _install_hooks,
    gemini_env,
    import_chats,
    transcript_replies,
)
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import ended_with_runs, settled_session

PROMPTS = ("TOOL_OK SIZED please", "PLAIN SIZED again")


@dataclass
class Compressed:
    server: ServerProcess
    detail: dict[str, Any]
    exit_codes: list[int]
    kinds: list[str]  # of the fake's requests, in order
    transcripts: list[Path]


def _compress_early(home: Path) -> None:
    settings_path = home / ".gemini" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["model"] = {"compressionThreshold": 0.0001}  # of the model's 1M-token window
    settings_path.write_text(json.dumps(settings))


def _two_prompts(binary: Path, env: dict[str, str], project: Path) -> tuple[list[int], str]:
    """The first prompt, then the second in the resumed session (compressed before it)."""
    codes, session_id = [], ""
    for index, prompt in enumerate(PROMPTS):
        extra = ("--resume", "latest") if index else ()
        code, answer = _gemini(binary, env, project, prompt, *extra)
        codes.append(code)
        session_id = session_id or answer["session_id"]
    return codes, session_id


@pytest.fixture(scope="module")
def compressed(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Compressed:
    binary = real_agent_bin(*GEMINI)
    root = tmp_path_factory.mktemp("gemini-compaction")
    home, project = root / "home", root / "project"
    project.mkdir()
    _install_hooks(home)
    _compress_early(home)
    fake = FakeGemini().start()
    env = gemini_env(root, home, fake.url, embedded_server.ingest_url)
    try:
        codes, session_id = _two_prompts(binary, env, project)
    finally:
        fake.stop()
    query = QueryClient(embedded_server.query_url)
    detail = settled_session(query, session_id, ended_with_runs(2))
    transcripts = sorted(home.glob(f".gemini/tmp/*/chats/session-*{session_id[:8]}*.jsonl"))
    return Compressed(
        embedded_server, detail, codes, [r["kind"] for r in fake.requests], transcripts
    )


def _checkpoints(path: Path) -> list[list[dict[str, Any]]]:
    records = (json.loads(line) for line in path.read_text().splitlines())
    return [r["$set"]["messages"] for r in records if "messages" in r.get("$set", {})]


def _replies(compressed: Compressed) -> list[dict[str, Any]]:
    replies = {r["id"]: r for path in compressed.transcripts for r in transcript_replies(path)}
    return sorted(replies.values(), key=lambda reply: str(reply["timestamp"]))


def _final_transcript(compressed: Compressed) -> Path:
    """The recording the resumed session went on in, the one with its last reply: a resume
    may go on in a new time-stamped file or in the old one (both seen), so the newest name
    is not always it."""
    last = _replies(compressed)[-1]["id"]
    holding = [
        p for p in compressed.transcripts if any(r["id"] == last for r in transcript_replies(p))
    ]
    return holding[-1]


def compactions(detail: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [
        (index, span)
        for index, run in enumerate(detail["runs"])
        for span in run["spans"]
        if span["kind"] == "compaction"
    ]


def test_the_cli_compressed_once_before_the_second_prompt(compressed: Compressed) -> None:
    assert compressed.exit_codes == [0, 0]
    # summary and its check, between the first session's calls and the second prompt's call
    calls = [kind for kind in compressed.kinds if kind != "router"]
    assert calls == ["main", "main", "compress", "compress", "main"]
    final_history = _checkpoints(_final_transcript(compressed))[-1]
    assert SNAPSHOT in json.dumps(final_history)


def test_one_compaction_span_with_the_real_figures(compressed: Compressed) -> None:
    found = compactions(compressed.detail)
    assert len(found) == 1  # not one per PreCompress (one before each of the 3 calls)
    run_index, span = found[0]
    assert run_index == 1 and span["status"] == "ok" and span["duration_ms"] > 0
    replies = _replies(compressed)
    before_compression = replies[-2]  # the first prompt's last reply
    after = _checkpoints(_final_transcript(compressed))[-1]
    figures = span["output"]
    assert figures["summary"] == SNAPSHOT  # what replaced the history
    assert figures["tokens_before"] == before_compression["tokens"]["input"]
    assert figures["messages_after"] == len(after)
    assert figures["messages_before"] > len(after)
    # the request after it really is smaller: the fake's prompt tokens are its size
    assert replies[-1]["tokens"]["input"] < before_compression["tokens"]["input"]


def test_tokens_are_still_counted_once(compressed: Compressed) -> None:
    totals: dict[str, int] = {}
    for reply in _replies(compressed):
        for key, value in reply["tokens"].items():
            totals[key] = totals.get(key, 0) + value
    assert compressed.detail["session"]["tokens"]["total"] == totals["total"]
    assert compressed.detail["session"]["tokens"]["output"] == totals["output"]


def test_importing_the_compressed_session_adds_nothing(compressed: Compressed) -> None:
    """The summary that replaced the history is no prompt: no run of its own on import."""
    import_chats(compressed.server, compressed.transcripts[-1].parent)
    query = QueryClient(compressed.server.query_url)
    session_id = compressed.detail["session"]["session_id"]
    again = settled_session(query, session_id, ended_with_runs(2))
    assert [run["input"] for run in again["runs"]] == list(PROMPTS)
    assert len(compactions(again)) == 1
    assert again["session"]["tokens"] == compressed.detail["session"]["tokens"]


def test_otel_alone_records_the_compression_with_gemini_s_token_counts(
    embedded_server: ServerProcess, tmp_path: Path
) -> None:
    """Without hooks, OTel's `gemini_cli.chat_compression` (`tokens_before`, `tokens_after`:
    Gemini's counts of the history) is the compaction, in the run it happened in."""
    binary = real_agent_bin(*GEMINI)
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    enable_telemetry(home, embedded_server.url("otlp"))
    _compress_early(home)
    fake = FakeGemini().start()
    env = gemini_env(tmp_path, home, fake.url, embedded_server.ingest_url)
    try:
        codes, session_id = _two_prompts(binary, env, project)
    finally:
        fake.stop()
    assert codes == [0, 0]
    query = QueryClient(embedded_server.query_url)

    def compacted(detail: dict[str, Any]) -> bool:
        return len(detail["runs"]) == 2 and all(run["ended_at"] for run in detail["runs"])

    detail = settled_session(query, session_id, compacted)
    ((run_index, span),) = compactions(detail)
    assert run_index == 1 and span["status"] == "ok"
    figures = span["output"]
    assert figures["tokens_before"] > figures["tokens_after"] > 0
