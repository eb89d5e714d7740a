"""The real Codex CLI (0.171.0), driven through complete `codex exec` sessions against a fake
OpenAI Responses API on loopback, with agentmon's hooks installed by `agentmon hooks install
codex` into a private CODEX_HOME, posting to a real embedded agentmon.

Every scenario runs once (module scope) and the tests compare what agentmon stored with
what really happened, read from Codex's own rollout file and `--json` output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integrations.integration_helpers import QueryClient
from tests.real_agents.codex.fake_openai import FakeOpenAI
from tests.real_agents.installed import real_agent_bin
from tests.real_agents.support import ended_with_runs, settled_session, tool_spans

BIN = Path(sys.executable).parent
MODEL = "gpt-5.4"

Record = dict[str, Any]


@dataclass
class Result:
    """One `codex exec`: its `--json` events and its rollout's records."""

    events: list[Record]
    rollout: list[Record]

    @property
    def session_id(self) -> str:
        (started,) = [event for event in self.events if event["type"] == "thread.started"]
        return str(started["thread_id"])


@dataclass
class Codex:
    binary: Path
    home: Path
    workdir: Path
    env: dict[str, str]

    def run(self, prompt: str, *resume: str) -> Result:
        command = [str(self.binary), "exec"]
        command += ["resume", *resume] if resume else []
        command += ["--skip-git-repo-check", "--dangerously-bypass-hook-trust", "--json", prompt]
        completed = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        events = [
            json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")
        ]
        assert events, completed.stderr
        result = Result(events, [])
        result.rollout = self.rollout(result.session_id)
        return result

    def rollout(self, session_id: str) -> list[Record]:
        (path,) = list((self.home / "sessions").glob(f"*/*/*/rollout-*{session_id}.jsonl"))
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Sessions:
    tool: Result
    failing: Result
    first: Result
    resumed: Result
    api_error: Result
    otel_only: Result
    hooks_and_otel: Result
    hooks_beside_otel_logs: Result
    compacted: Result
    denied: Result
    subagent: Result
    subagent_rollouts: list[list[Record]]
    subagent_with_otel: Result
    subagent_with_otel_rollouts: list[list[Record]]
    fake: FakeOpenAI
    query: QueryClient


CONFIG = """model = "{model}"
model_provider = "fake"

[model_providers.fake]
name = "fake"
base_url = "{url}"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""

OTEL = """
[otel]
environment = "test"
log_user_prompt = true
exporter = {{ otlp-http = {{ endpoint = "{otlp}/v1/logs", protocol = "json" }} }}
trace_exporter = {{ otlp-http = {{ endpoint = "{otlp}/v1/traces", protocol = "json" }} }}
"""


def codex_world(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """Codex's home and working directory under `root`, and the environment a Codex run gets
    there (agentmon's hook state, spool and log under `root`)."""
    home, workdir = root / "codex-home", root / "work"
    home.mkdir()
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTMON_")}
    env.update(
        HOME=str(root),
        CODEX_HOME=str(home),
        FAKE_OPENAI_KEY="sk-test",
        AGENTMON_STATE_DIR=str(root / "state"),
        AGENTMON_SPOOL_DIR=str(root / "spool"),
        AGENTMON_HOOK_LOG=str(root / "hooks.log"),
    )
    return home, workdir, env


@pytest.fixture(scope="module")
def sessions(
    embedded_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sessions]:
    binary = real_agent_bin("codex@0.171.0", "codex")
    root = tmp_path_factory.mktemp("codex")
    home, workdir, env = codex_world(root)

    with FakeOpenAI() as fake:
        (home / "config.toml").write_text(CONFIG.format(model=MODEL, url=fake.url))
        install = [
            str(BIN / "agentmon"),
            "hooks",
            "install",
            "codex",
            "--handler-dir",
            str(BIN),
            "--ingest-url",
            embedded_server.ingest_url,
        ]
        subprocess.run(install, env=env, check=True, capture_output=True, timeout=60)
        codex = Codex(binary, home, workdir, env)
        logs_home = root / "codex-logs-home"  # OTel logs configured, then the hooks installed
        logs_home.mkdir()
        logs_config = CONFIG.format(model=MODEL, url=fake.url) + OTEL.format(
            otlp=embedded_server.otlp_url
        )
        logs_config = "\n".join(
            line for line in logs_config.splitlines() if not line.startswith("trace_exporter")
        )
        (logs_home / "config.toml").write_text(logs_config + "\n")
        logs_env = {**env, "CODEX_HOME": str(logs_home)}
        subprocess.run(install, env=logs_env, check=True, capture_output=True, timeout=60)
        logs_then_hooks = Codex(binary, logs_home, workdir, logs_env)
        # a home whose tiny auto-compaction limit makes Codex compact inside the first turn
        compact_home = root / "codex-compact-home"
        shutil.copytree(home, compact_home)
        config = CONFIG.format(model=MODEL, url=fake.url)
        (compact_home / "config.toml").write_text("model_auto_compact_token_limit = 150\n" + config)
        compacting = Codex(binary, compact_home, workdir, {**env, "CODEX_HOME": str(compact_home)})
        otel_home = root / "codex-otel-home"  # OTel export only, no hooks
        otel_home.mkdir()
        otel_config = CONFIG.format(model=MODEL, url=fake.url)
        otel_config += OTEL.format(otlp=embedded_server.otlp_url)
        (otel_home / "config.toml").write_text(otel_config)
        otel = Codex(binary, otel_home, workdir, {**env, "CODEX_HOME": str(otel_home)})
        both_home = root / "codex-both-home"  # the hooks and OTel (logs and traces) at once
        shutil.copytree(home, both_home)
        with (both_home / "config.toml").open("a") as config_file:
            config_file.write(OTEL.format(otlp=embedded_server.otlp_url))
        both = Codex(binary, both_home, workdir, {**env, "CODEX_HOME": str(both_home)})
        first = codex.run("RUN echo first")
        subagent = codex.run("SPAWN RUN echo from-child")
        subagent_with_otel = both.run("SPAWN RUN echo from-child")
        yield Sessions(
            tool=codex.run("RUN echo hello"),
            failing=codex.run("RUN ls /nonexistent-dir"),
            first=first,
            resumed=codex.run("RUN echo second", first.session_id),
            api_error=codex.run("FAIL 400"),
            otel_only=otel.run("RUN ls /nonexistent-dir"),
            hooks_and_otel=both.run("RUN ls /nonexistent-dir"),
            hooks_beside_otel_logs=logs_then_hooks.run("RUN ls /nonexistent-dir"),
            compacted=compacting.run("RUN echo compact-me"),
            denied=codex.run("ESCALATE touch escalated.txt"),
            subagent=subagent,
            subagent_rollouts=[codex.rollout(agent) for agent in spawned(subagent.events)],
            subagent_with_otel=subagent_with_otel,
            subagent_with_otel_rollouts=[
                both.rollout(agent) for agent in spawned(subagent_with_otel.events)
            ],
            fake=fake,
            query=QueryClient(embedded_server.query_url),
        )


# ---------------------------------------------------------------- the tool's own records


def turns(rollout: list[Record]) -> list[str]:
    return [
        record["payload"]["turn_id"]
        for record in rollout
        if record.get("type") == "event_msg" and record["payload"].get("type") == "task_started"
    ]


def spawned(events: list[Record]) -> list[str]:
    """The thread ids of the sub-agents a `codex exec` spawned (its `--json` events)."""
    return [
        str(thread)
        for event in events
        if event["type"] == "item.completed" and event["item"].get("tool") == "spawn_agent"
        for thread in event["item"].get("receiver_thread_ids") or []
    ]


def rollout_tokens(rollout: list[Record]) -> dict[str, int]:
    """The last cumulative `token_count` total, in agentmon's counters."""
    totals: Record = {}
    for record in rollout:
        payload = record.get("payload") or {}
        if record.get("type") == "event_msg" and payload.get("type") == "token_count":
            totals = (payload.get("info") or {}).get("total_token_usage") or totals
    return {
        "input": totals.get("input_tokens", 0),
        "output": totals.get("output_tokens", 0),
        "cache_read": totals.get("cached_input_tokens", 0),
    }


def commands(rollout: list[Record]) -> dict[str, Record]:
    """call id → the CommandExecution item Codex recorded for it."""
    found = {}
    for record in rollout:
        payload = record.get("payload") or {}
        item = payload.get("item") if payload.get("type") == "item_completed" else None
        if isinstance(item, dict) and item.get("type") == "CommandExecution":
            found[str(item["id"])] = item
    return found


def call_outputs(rollout: list[Record]) -> dict[str, str]:
    """call id → what the model was told of the call (`function_call_output`)."""
    return {
        str(record["payload"]["call_id"]): str(record["payload"]["output"])
        for record in rollout
        if record.get("type") == "response_item"
        and record["payload"].get("type") == "function_call_output"
    }


def function_names(rollout: list[Record]) -> set[str]:
    return {
        str(record["payload"]["name"])
        for record in rollout
        if record.get("type") == "response_item"
        and record["payload"].get("type") == "function_call"
    }


# ---------------------------------------------------------------- what agentmon stored


def stored(sessions: Sessions, session_id: str, runs: int) -> dict[str, Any]:
    """The session once it ended with `runs` runs over, with each run's spans and errors."""
    return settled_session(sessions.query, session_id, ended_with_runs(runs))


def otel_arrived(query: QueryClient, session_id: str, *, traces: bool = True) -> bool:
    """Whether the session's OTel logs (its tool results and responses), and its traces
    when `traces`, are in."""
    events = query.events(session_id=session_id)
    names = {str((event.get("attributes") or {}).get("event.name")) for event in events}
    traced = any(event["correlation"].get("trace_id") for event in events)
    return (traced or not traces) and {"codex.tool_result", "codex.sse_event"} <= names


def tokens_of(entity: Record) -> dict[str, int]:
    return {name: int(entity["tokens"][name]) for name in ("input", "output", "cache_read")}


# ---------------------------------------------------------------- the tests


def test_a_tool_call_session(sessions: Sessions) -> None:
    result = sessions.tool
    detail = stored(sessions, result.session_id, runs=1)
    (turn,) = turns(result.rollout)
    (run,) = detail["runs"]
    assert run["run_id"] == turn and run["status"] == "ok" and run["output"] == "done"
    assert run["model"] == MODEL and detail["session"]["model"] == MODEL
    assert tokens_of(detail["session"]) == rollout_tokens(result.rollout)
    assert sum(rollout_tokens(result.rollout).values()) > 0
    (span,) = tool_spans(detail)
    (name,) = function_names(result.rollout)
    assert span["name"] == name == "exec_command"  # one name, the rollout's and OTel's
    assert span["attributes"].get("hook_tool_name") == "Bash" or span["status"] == "ok"
    assert span["status"] == "ok" and run["error_count"] == 0


def test_a_failed_command_is_an_error(sessions: Sessions) -> None:
    result = sessions.failing
    detail = stored(sessions, result.session_id, runs=1)
    (command,) = commands(result.rollout).values()
    assert command["exit_code"] == 2 and command["status"] == "failed"
    (span,) = tool_spans(detail)
    assert span["status"] == "error"
    assert span["error"].startswith("exit code 2: ls: cannot access")
    (run,) = detail["runs"]
    assert run["error_count"] == 1
    assert tokens_of(detail["session"]) == rollout_tokens(result.rollout)


def test_two_prompts_in_one_resumed_session_are_two_runs(sessions: Sessions) -> None:
    session_id = sessions.first.session_id
    assert sessions.resumed.session_id == session_id
    detail = stored(sessions, session_id, runs=2)
    assert sorted(run["run_id"] for run in detail["runs"]) == sorted(
        turns(sessions.resumed.rollout)
    )
    assert len(detail["runs"]) == 2 and all(run["status"] == "ok" for run in detail["runs"])
    assert tokens_of(detail["session"]) == rollout_tokens(sessions.resumed.rollout)
    assert [span["status"] for span in tool_spans(detail)] == ["ok", "ok"]


def test_an_api_error_fails_the_run(sessions: Sessions) -> None:
    result = sessions.api_error
    failed = [event for event in result.events if event["type"] == "turn.failed"]
    assert failed, result.events
    detail = stored(sessions, result.session_id, runs=1)
    (run,) = detail["runs"]
    assert run["status"] == "error", run
    assert run["error_count"] >= 1
    assert sum(tokens_of(detail["session"]).values()) == 0


def test_otel_only_gives_the_run_the_failed_tool_and_the_tokens(sessions: Sessions) -> None:
    """Codex's OTel logs name their events in `event.name` (`eventName` is a source
    location) and its traces are its internals: one run, one tool span, the rollout's
    tokens, and none of the ~450 internal spans."""
    result = sessions.otel_only
    expected = rollout_tokens(result.rollout)
    detail = settled_session(
        sessions.query, result.session_id, lambda d: tokens_of(d["session"]) == expected
    )
    assert tokens_of(detail["session"]) == expected
    assert detail["session"]["model"] == MODEL
    (run,) = detail["runs"]
    (tool,) = run["spans"]
    assert tool["kind"] == "tool" and tool["name"] == "exec_command"
    assert tool["status"] == "error" and tool["error"].startswith("exit code 2")
    assert detail["session"]["span_count"] == 1


def test_hooks_and_otel_store_one_run_one_tool_span_and_count_tokens_once(
    sessions: Sessions,
) -> None:
    """The turn, the tool call and the tokens arrive by hooks (+ rollout), OTel logs and OTel
    traces; ids from Codex's own (turn id, call id, the turn's usage) make them one run, one
    span and one count, whatever order the paths arrive in."""
    assert_one_failed_command_turn_by_every_path(sessions, sessions.hooks_and_otel, traces=True)


def test_hooks_installed_beside_otel_logs_store_one_run_and_count_tokens_once(
    sessions: Sessions,
) -> None:
    """Codex's OTel logs name no turn (no turn id, no response id, nothing of the hooks), so
    beside the hooks they were a second run of the turn and a second count of its tokens.
    `agentmon hooks install codex` on a config exporting logs adds the trace exporter, whose
    turn ids make the logs stand down: one run, one span, tokens once."""
    result = sessions.hooks_beside_otel_logs
    assert_one_failed_command_turn_by_every_path(sessions, result, traces=False)


def assert_one_failed_command_turn_by_every_path(
    sessions: Sessions, result: Result, *, traces: bool
) -> None:
    """One run, one failed tool span and the rollout's tokens once, once the session ended
    and its OTel logs (and traces, when `traces`) arrived."""
    expected = rollout_tokens(result.rollout)

    def ended_and_otel_arrived(detail: dict[str, Any]) -> bool:
        ended = detail["session"]["ended_at"] is not None
        return ended and otel_arrived(sessions.query, result.session_id, traces=traces)

    detail = settled_session(sessions.query, result.session_id, ended_and_otel_arrived)
    assert ended_and_otel_arrived(detail)
    assert tokens_of(detail["session"]) == expected
    (turn,) = turns(result.rollout)
    (run,) = detail["runs"]
    assert run["run_id"] == turn and run["status"] == "ok" and run["output"] == "done"
    assert run["input"] == "RUN ls /nonexistent-dir" and run["model"] == MODEL
    (span,) = tool_spans(detail)
    assert len(commands(result.rollout)) == 1
    assert span["name"] == "exec_command" and span["status"] == "error"
    assert span["error"].startswith("exit code 2: ls: cannot access")
    assert run["error_count"] == 1 and detail["session"]["error_count"] == 1
    assert detail["session"]["span_count"] == 1


def test_an_auto_compaction_is_one_compaction_span_in_its_turn(sessions: Sessions) -> None:
    """Over `model_auto_compact_token_limit` Codex compacts mid-turn (PreCompact/PostCompact
    fire; the rollout records a `compacted` line); the summary call's tokens count too."""
    result = sessions.compacted
    assert [r for r in result.rollout if r.get("type") == "compacted"], "Codex did not compact"
    detail = stored(sessions, result.session_id, runs=1)
    (run,) = detail["runs"]
    assert run["run_id"] == turns(result.rollout)[0] and run["status"] == "ok"
    (compaction,) = [span for span in run["spans"] if span["kind"] == "compaction"]
    assert compaction["status"] == "ok" and compaction["duration_ms"] >= 0
    (tool,) = tool_spans(detail)
    assert tool["status"] == "ok"
    assert tokens_of(detail["session"]) == rollout_tokens(result.rollout)


def test_a_call_asking_to_leave_the_sandbox_is_refused_and_closed_as_denied(
    sessions: Sessions,
) -> None:
    """`codex exec` never asks: a `require_escalated` call is refused without running (only
    PreToolUse fires); the rollout's answer to the model is the refusal."""
    result = sessions.denied
    (answer,) = call_outputs(result.rollout).values()
    assert "reject command" in answer and not commands(result.rollout)
    detail = stored(sessions, result.session_id, runs=1)
    (span,) = tool_spans(detail)
    assert (span["status"], span["error"]) == ("denied", answer)
    (run,) = detail["runs"]
    assert run["status"] == "ok" and run["error_count"] == 1
    assert [error["kind"] for error in run["errors"]] == ["permission_denied"]


def test_a_sub_agent_is_an_agent_span_under_its_spawn_call_holding_its_tools_and_tokens(
    sessions: Sessions,
) -> None:
    """`spawn_agent` starts a sub-agent thread (its own rollout) whose hooks carry the
    parent's session id, `agent_id` and the sub-agent's own turn id; the parent waits for it
    (`wait_agent`). One run (the parent's turn), the sub-agent nested under its spawn call,
    and the tokens of both rollouts, each once. Codex's `notify` fires for the sub-agent's
    turn too, under the sub-agent's thread id: it makes no session of its own."""
    assert_one_session_with_its_sub_agent(
        sessions, sessions.subagent, sessions.subagent_rollouts, lambda detail: True
    )


def test_hooks_and_otel_count_a_sub_agent_once_in_its_parents_session(
    sessions: Sessions,
) -> None:
    """With OTel (logs and traces) as well, the sub-agent reports under its own conversation
    id (its logs, and its turn in the parent's trace): still one session, one run, the
    sub-agent's tokens counted once."""
    result = sessions.subagent_with_otel
    assert_one_session_with_its_sub_agent(
        sessions,
        result,
        sessions.subagent_with_otel_rollouts,
        lambda detail: otel_arrived(sessions.query, result.session_id),
    )


def assert_one_session_with_its_sub_agent(
    sessions: Sessions,
    result: Result,
    child_rollouts: list[list[Record]],
    arrived: Callable[[dict[str, Any]], bool],
) -> None:
    (child,) = child_rollouts
    expected = {
        name: count + rollout_tokens(child)[name]
        for name, count in rollout_tokens(result.rollout).items()
    }
    detail = settled_session(
        sessions.query,
        result.session_id,
        lambda d: (
            d["session"]["ended_at"] is not None
            and tokens_of(d["session"]) == expected
            and arrived(d)
        ),
    )
    assert tokens_of(detail["session"]) == expected
    (run,) = [run for run in detail["runs"] if run["run_id"] in turns(result.rollout)]
    assert run["status"] == "ok" and run["output"] == "done"
    spans = {span["name"]: span for span in run["spans"]}
    assert sorted(spans) == ["default", "exec_command", "spawn_agent", "wait_agent"]
    agent = spans["default"]
    assert agent["kind"] == "agent" and agent["status"] == "ok"
    assert agent["parent_span_id"] == spans["spawn_agent"]["span_id"]
    assert spans["exec_command"]["parent_span_id"] == agent["span_id"]
    assert all(span["status"] == "ok" for span in spans.values())
    assert [r["run_id"] for r in detail["runs"]] == [run["run_id"]]
    (agent_thread,) = spawned(result.events)
    assert sessions.query.events(session_id=agent_thread) == []
