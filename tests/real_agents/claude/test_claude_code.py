"""The real Claude Code CLI (2.1.197), driven through complete sessions against a fake
Anthropic API on loopback, with agentmon's hooks installed by `agentmon hooks install
claude-code` into a private HOME, posting to a real embedded agentmon.

Every scenario runs once (module scope) and the tests compare what agentmon stored with
what really happened, read from Claude Code's own transcript and the fake server's log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agentmon.integrations._claude_transcript import prompt_id_run_id
from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.claude.fake_anthropic import (
    CACHE_READ_TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    FakeAnthropic,
)
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import ended_with_runs, settled_session, tool_spans

BIN = Path(sys.executable).parent
MODEL = "claude-opus-4-8"  # what 2.1.197 asks for by default ("claude-opus-4-8[1m]" in its UI)
CALL_TOKENS = {
    "input": INPUT_TOKENS,
    "output": OUTPUT_TOKENS,
    "cache_read": CACHE_READ_TOKENS,
    "cache_write": 0,
}

Record = dict[str, Any]


@dataclass
class Result:
    """One `claude -p` run: its JSON result and its session's transcript records."""

    output: Record
    transcript: list[Record] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return str(self.output["session_id"])


@dataclass
class ClaudeCode:
    binary: Path
    home: Path
    workdir: Path
    env: dict[str, str]

    def run(self, prompt: str, *args: str) -> Result:
        completed = subprocess.run(
            [str(self.binary), "-p", prompt, "--output-format", "json", *args],
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.stdout.strip(), completed.stderr
        output = json.loads(completed.stdout.strip().splitlines()[-1])
        return Result(output, self.transcript(str(output["session_id"])))

    def answering(self, prompt: str, behavior: str) -> Result:
        """A stream-json session whose permission prompts (`can_use_tool`, via
        `--permission-prompt-tool stdio`) this test answers with `behavior`."""
        command = [str(self.binary), "-p", "--input-format", "stream-json"]
        command += ["--output-format", "stream-json", "--verbose"]
        command += ["--permission-prompt-tool", "stdio"]
        process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None

        def send(message: Record) -> None:
            assert process.stdin is not None
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()

        initialize = {"subtype": "initialize"}
        send({"type": "control_request", "request_id": "init", "request": initialize})
        message = {"role": "user", "content": prompt}
        send({"type": "user", "message": message, "parent_tool_use_id": None, "session_id": ""})
        asked, result = 0, None
        for line in process.stdout:
            record = json.loads(line)
            request = record.get("request") or {}
            if record.get("type") == "control_request" and request.get("subtype") == "can_use_tool":
                asked += 1
                answer: Record = {"behavior": behavior}
                if behavior == "allow":
                    answer["updatedInput"] = request["input"]
                else:
                    answer["message"] = "not now, scripted refusal"
                response = {"subtype": "success", "request_id": record["request_id"]}
                send({"type": "control_response", "response": {**response, "response": answer}})
            if record.get("type") == "result":
                result = record
                break
        process.stdin.close()
        process.wait(timeout=60)
        assert result is not None and asked == 1, (result, asked)
        return Result(result, self.transcript(str(result["session_id"])))

    def transcript(self, session_id: str) -> list[Record]:
        paths = list((self.home / ".claude" / "projects").glob(f"*/{session_id}.jsonl"))
        assert len(paths) == 1, paths
        return [json.loads(line) for line in paths[0].read_text().splitlines() if line.strip()]


@dataclass
class Sessions:
    tool: Result
    failing: Result
    denied: Result
    first: Result
    resumed: Result
    subagent: Result
    api_error: Result
    otel_only: Result
    otel_api_error: Result
    task: Result
    hooks_and_otel: Result
    compacted: Result
    prompted_allowed: Result
    prompted_denied: Result
    fake: FakeAnthropic
    query: QueryClient
    home: Path


@pytest.fixture(scope="module")
def sessions(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sessions]:
    binary = real_agent_bin("claude-code@2.1.197", "claude")
    root = tmp_path_factory.mktemp("claude-code")
    home, workdir = root / "home", root / "work"
    home.mkdir()
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTMON_")}
    env.update(
        HOME=str(home),
        AGENTMON_STATE_DIR=str(root / "state"),
        AGENTMON_SPOOL_DIR=str(root / "spool"),
        AGENTMON_HOOK_LOG=str(root / "hooks.log"),
        ANTHROPIC_API_KEY="sk-ant-test",
        IS_SANDBOX="1",  # bypass-permission checks refuse root without it
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    env.pop("CLAUDE_CONFIG_DIR", None)
    install = [
        str(BIN / "agentmon"),
        "hooks",
        "install",
        "claude-code",
        "--handler-dir",
        str(BIN),
        "--ingest-url",
        embedded_server.ingest_url,
    ]
    subprocess.run(install, env=env, check=True, capture_output=True, timeout=60)

    telemetry = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": embedded_server.otlp_url,
        "OTEL_LOGS_EXPORT_INTERVAL": "500",
        "OTEL_LOG_TOOL_DETAILS": "1",
    }
    otel_home = root / "otel-home"  # no hooks installed here: OTel only
    otel_home.mkdir()
    with FakeAnthropic() as fake:
        env["ANTHROPIC_BASE_URL"] = fake.url
        claude = ClaudeCode(binary, home, workdir, env)
        both = ClaudeCode(binary, home, workdir, {**env, **telemetry})
        otel = ClaudeCode(binary, otel_home, workdir, {**env, **telemetry, "HOME": str(otel_home)})
        first = claude.run("RUN echo first", "--allowedTools", "Bash")
        before = claude.run("RUN echo one", "--allowedTools", "Bash")
        claude.run("RUN echo two", "--resume", before.session_id, "--allowedTools", "Bash")
        yield Sessions(
            tool=claude.run("RUN echo hello", "--allowedTools", "Bash"),
            failing=claude.run("RUN ls /nonexistent-dir", "--allowedTools", "Bash"),
            denied=claude.run("RUN touch denied.txt"),
            first=first,
            resumed=claude.run(
                "RUN echo second", "--resume", first.session_id, "--allowedTools", "Bash"
            ),
            subagent=claude.run("AGENT RUN echo from-sub", "--allowedTools", "Bash", "Agent"),
            api_error=claude.run("FAIL 400"),
            otel_only=otel.run("RUN ls /nonexistent-dir", "--allowedTools", "Bash"),
            otel_api_error=otel.run("FAIL 400"),
            task=claude.run("TASK write the tests", "--allowedTools", "TaskCreate", "TaskUpdate"),
            hooks_and_otel=both.run("RUN ls /nonexistent-dir", "--allowedTools", "Bash"),
            compacted=claude.run("/compact", "--resume", before.session_id),
            prompted_allowed=claude.answering("RUN touch allowed.txt", "allow"),
            prompted_denied=claude.answering("RUN touch refused.txt", "deny"),
            fake=fake,
            query=QueryClient(embedded_server.query_url),
            home=home,
        )


# ---------------------------------------------------------------- the tool's own records


def prompts(transcript: list[Record]) -> list[str]:
    """The prompt ids of the user's prompts, in order."""
    ids = []
    for record in transcript:
        content = (record.get("message") or {}).get("content")
        if record.get("type") == "user" and isinstance(content, str) and record.get("promptId"):
            ids.append(str(record["promptId"]))
    return ids


def calls(transcript: list[Record]) -> dict[str, Record]:
    """Model calls, de-duplicated on message.id:requestId, the larger usage kept."""
    found: dict[str, Record] = {}
    for record in transcript:
        message = record.get("message") or {}
        if record.get("type") != "assistant" or message.get("model") == "<synthetic>":
            continue
        key = f"{message['id']}:{record.get('requestId')}"
        usage = message.get("usage") or {}
        found[key] = {"model": message.get("model"), "usage": usage}
    return found


def transcript_tokens(transcript: list[Record]) -> dict[str, int]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    for call in calls(transcript).values():
        usage = call["usage"]
        totals["input"] += usage.get("input_tokens", 0)
        totals["output"] += usage.get("output_tokens", 0)
        totals["cache_read"] += usage.get("cache_read_input_tokens", 0)
        totals["cache_write"] += usage.get("cache_creation_input_tokens", 0)
    return totals


def tool_results(transcript: list[Record]) -> dict[str, Record]:
    """tool_use_id → the tool_result block, with the line's timestamp."""
    results = {}
    for record in transcript:
        content = (record.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                results[block["tool_use_id"]] = {**block, "ts": record["timestamp"]}
    return results


def tool_uses(transcript: list[Record]) -> dict[str, Record]:
    uses = {}
    for record in transcript:
        content = (record.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                uses[block["id"]] = {**block, "ts": record["timestamp"]}
    return uses


def seconds(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- what agentmon stored


def stored(sessions: Sessions, session_id: str, runs: int) -> dict[str, Any]:
    """The session once it ended with `runs` runs over, with each run's spans and errors."""
    return settled_session(sessions.query, session_id, ended_with_runs(runs))


def tokens_of(entity: Record) -> dict[str, int]:
    return {name: int(entity["tokens"][name]) for name in CALL_TOKENS}


# ---------------------------------------------------------------- the tests


def test_a_tool_call_session(sessions: Sessions) -> None:
    result = sessions.tool
    detail = stored(sessions, result.session_id, runs=1)
    (prompt_id,) = prompts(result.transcript)
    (run,) = detail["runs"]
    assert run["run_id"] == prompt_id_run_id(result.session_id, prompt_id)
    assert run["status"] == "ok" and run["output"] == "done" and run["error_count"] == 0
    assert run["model"] == MODEL and detail["session"]["model"] == MODEL
    assert detail["session"]["end_reason"] == "other"
    assert tokens_of(detail["session"]) == transcript_tokens(result.transcript)
    assert tokens_of(run) == {name: 2 * value for name, value in CALL_TOKENS.items()}
    (span,) = tool_spans(detail)
    (use,) = tool_uses(result.transcript).values()
    (tool_result,) = tool_results(result.transcript).values()
    assert span["name"] == "Bash" and span["status"] == "ok"
    # the tool's own duration_ms, which lies inside the transcript's call → result gap
    gap_ms = (seconds(tool_result["ts"]) - seconds(use["ts"])) * 1000
    assert 0 < span["duration_ms"] <= gap_ms + 1
    llm = [span for span in run["spans"] if span["kind"] == "llm"]
    assert len(llm) == len(calls(result.transcript)) == 2
    assert span["input"]["command"] == "echo hello"


def test_a_failing_tool_call_is_an_error(sessions: Sessions) -> None:
    result = sessions.failing
    detail = stored(sessions, result.session_id, runs=1)
    (tool_result,) = tool_results(result.transcript).values()
    assert tool_result["is_error"] is True
    (span,) = tool_spans(detail)
    assert span["status"] == "error" and "Exit code 2" in span["error"]
    (run,) = detail["runs"]
    assert run["error_count"] == 1 and run["status"] == "ok"
    assert tokens_of(detail["session"]) == transcript_tokens(result.transcript)


def test_a_denied_tool_is_closed_as_denied_in_its_own_run(sessions: Sessions) -> None:
    result = sessions.denied
    assert result.output["permission_denials"], result.output
    detail = stored(sessions, result.session_id, runs=1)
    (span,) = tool_spans(detail)
    (tool_result,) = tool_results(result.transcript).values()
    assert span["status"] == "denied"
    assert span["error"] == tool_result["content"]
    (run,) = detail["runs"]
    assert run["error_count"] == 1
    assert [error["kind"] for error in run["errors"]] == ["permission_denied"]


def test_two_prompts_in_one_resumed_session_are_two_runs(sessions: Sessions) -> None:
    session_id = sessions.first.session_id
    assert sessions.resumed.session_id == session_id
    detail = stored(sessions, session_id, runs=2)
    transcript = sessions.resumed.transcript
    expected = [prompt_id_run_id(session_id, prompt_id) for prompt_id in prompts(transcript)]
    assert len(expected) == 2
    assert sorted(run["run_id"] for run in detail["runs"]) == sorted(expected)
    assert all(run["status"] == "ok" for run in detail["runs"])
    assert tokens_of(detail["session"]) == transcript_tokens(transcript)
    assert len(tool_spans(detail)) == 2


def test_a_subagent_nests_under_the_agent_tool_call_and_counts_once(sessions: Sessions) -> None:
    result = sessions.subagent
    detail = stored(sessions, result.session_id, runs=1)
    runs = [(r["run_id"], r["input"], r["status"], len(r["spans"])) for r in detail["runs"]]
    assert len(runs) == 1, runs
    (run,) = detail["runs"]
    spans = run["spans"]
    by_id = {span["span_id"]: span for span in spans}
    (agent_tool,) = [span for span in spans if span["kind"] == "tool" and span["name"] == "Agent"]
    (agent,) = [span for span in spans if span["kind"] == "agent"]
    (inner,) = [span for span in spans if span["kind"] == "tool" and span["name"] == "Bash"]
    assert agent["parent_span_id"] == agent_tool["span_id"]
    assert by_id[inner["parent_span_id"]] is agent
    sub_llm = [span for span in spans if span["kind"] == "llm" and span["parent_span_id"]]
    assert {span["parent_span_id"] for span in sub_llm} == {agent["span_id"]}
    pattern = f".claude/projects/*/{result.session_id}/subagents/*.jsonl"
    (sub_path,) = list(sessions.home.glob(pattern))
    sub_transcript = [json.loads(line) for line in sub_path.read_text().splitlines() if line]
    assert len(sub_llm) == len(calls(sub_transcript))
    # the Agent tool's own report is shown on its span, its tokens counted once overall
    assert agent_tool["usage"]["input_tokens"] == INPUT_TOKENS
    expected = transcript_tokens(result.transcript)
    for name, value in transcript_tokens(sub_transcript).items():
        expected[name] += value
    assert tokens_of(detail["session"]) == expected


def test_an_api_error_keeps_the_message_the_user_saw(sessions: Sessions) -> None:
    result = sessions.api_error
    assert result.output["is_error"] is True
    detail = stored(sessions, result.session_id, runs=1)
    (run,) = detail["runs"]
    assert run["status"] == "error"
    assert run["error"] == result.output["result"] == "API Error: 400 scripted failure 400"
    assert [error["message"] for error in run["errors"]] == [run["error"]]
    assert tokens_of(detail["session"]) == transcript_tokens(result.transcript)
    assert sum(tokens_of(detail["session"]).values()) == 0


def settled(sessions: Sessions, result: Result, check: Callable[[dict[str, Any]], bool]) -> Any:
    """The session detail once `check` holds (OTel batches arrive after the CLI exits)."""
    return settled_session(sessions.query, result.session_id, check)


def test_otel_only_gives_the_prompt_run_the_failed_tool_and_the_tokens(
    sessions: Sessions,
) -> None:
    result = sessions.otel_only
    expected = transcript_tokens(result.transcript)
    detail = settled(sessions, result, lambda d: tokens_of(d["session"]) == expected)
    assert tokens_of(detail["session"]) == expected
    (prompt_id,) = prompts(result.transcript)
    (run,) = detail["runs"]
    assert run["run_id"] == prompt_id_run_id(result.session_id, prompt_id)
    (span,) = tool_spans(detail)
    assert span["name"] == "Bash" and span["status"] == "error"
    # the prompt's `assistant_response` closes the run: OTel alone has no Stop hook
    assert run["status"] == "ok" and run["ended_at"] is not None
    assert run["error_count"] == 1 and run["model"] == MODEL


def test_otel_only_an_api_error_ends_the_run_as_failed(sessions: Sessions) -> None:
    result = sessions.otel_api_error
    assert result.output["is_error"] is True
    detail = settled(sessions, result, lambda d: bool(d["runs"]) and d["runs"][0]["ended_at"])
    (run,) = detail["runs"]
    assert (run["status"], run["error"]) == ("error", result.output["result"])
    assert [error["message"] for error in run["errors"]] == ["scripted failure 400"]


def test_hooks_and_otel_store_one_run_one_tool_span_and_count_tokens_once(
    sessions: Sessions,
) -> None:
    """The same prompt, tool call and model calls arrive by hooks (+ transcript) and by
    OTel; ids derived from Claude Code's own ids (prompt_id, tool_use_id, requestId) make
    them one run, one span each and one count."""
    result = sessions.hooks_and_otel
    expected = transcript_tokens(result.transcript)
    calls_seen = len(calls(result.transcript))

    def otel_names(detail: dict[str, Any]) -> set[str]:
        events = sessions.query.events(session_id=result.session_id)
        return {str((event.get("attributes") or {}).get("event.name")) for event in events}

    def complete(detail: dict[str, Any]) -> bool:
        arrived = {"api_request", "tool_result"} <= otel_names(detail)
        return arrived and detail["session"]["status"] == "ended"

    detail = settled(sessions, result, complete)
    assert {"user_prompt", "api_request", "tool_result"} <= otel_names(detail)
    assert tokens_of(detail["session"]) == expected
    (run,) = detail["runs"]
    assert run["status"] == "ok" and run["error_count"] == 1
    (span,) = tool_spans(detail)
    assert span["status"] == "error"
    llm = [span for span in run["spans"] if span["kind"] == "llm"]
    assert len(llm) == calls_seen == 2


def test_a_manual_compaction_is_one_span_holding_its_summariser(sessions: Sessions) -> None:
    result = sessions.compacted
    boundaries = [r for r in result.transcript if r.get("subtype") == "compact_boundary"]
    assert len(boundaries) == 1, "Claude Code did not compact"
    detail = stored(sessions, result.session_id, runs=3)
    spans = [span for run in detail["runs"] for span in run["spans"]]
    (compaction,) = [span for span in spans if span["kind"] == "compaction"]
    assert compaction["status"] == "ok"
    (summariser,) = [span for span in spans if span["kind"] == "agent"]
    assert summariser["parent_span_id"] == compaction["span_id"]
    assert summariser["name"] == "compaction"
    expected = transcript_tokens(result.transcript)
    pattern = f".claude/projects/*/{result.session_id}/subagents/*.jsonl"
    for path in sessions.home.glob(pattern):
        records = [json.loads(line) for line in path.read_text().splitlines() if line]
        for name, value in transcript_tokens(records).items():
            expected[name] += value
    assert tokens_of(detail["session"]) == expected


def test_a_permission_prompt_waits_for_a_human_then_runs_the_tool(sessions: Sessions) -> None:
    result = sessions.prompted_allowed
    detail = stored(sessions, result.session_id, runs=1)
    (span,) = tool_spans(detail)
    assert span["status"] == "ok"
    events = sessions.query.events(session_id=result.session_id)
    waiting = [e for e in events if e["payload"].get("agent_state") == "waiting_for_human"]
    assert [e["payload"]["waiting_reason"] for e in waiting] == ["permission_prompt"]
    assert detail["session"]["waiting_reason"] is None or detail["session"]["status"] == "ended"


def test_a_permission_prompt_answered_no_closes_the_tool_as_denied(sessions: Sessions) -> None:
    result = sessions.prompted_denied
    detail = stored(sessions, result.session_id, runs=1)
    (span,) = tool_spans(detail)
    (tool_result,) = tool_results(result.transcript).values()
    assert span["status"] == "denied"
    assert "scripted refusal" in str(tool_result["content"])
    (run,) = detail["runs"]
    assert run["error_count"] == 1 and run["status"] == "ok"


def test_a_task_created_then_completed_is_one_task_span(sessions: Sessions) -> None:
    """TaskCreate then TaskUpdate(completed) fire the TaskCreated and TaskCompleted hooks."""
    result = sessions.task
    detail = stored(sessions, result.session_id, runs=1)
    (run,) = detail["runs"]
    (task,) = [span for span in run["spans"] if span["kind"] == "task"]
    assert (task["name"], task["status"]) == ("write the tests", "ok")
    assert task["input"] == "scripted task: write the tests"
    assert task["ended_at"] is not None
    assert [span["name"] for span in tool_spans(detail)] == ["TaskCreate", "TaskUpdate"]
