"""The real handler commands, fed the tools' real payload shapes, against a running server.

Each test runs ``.venv/bin/agentmon-<tool>-handler`` as a subprocess exactly as the tool
would (stdin JSON, or the last argv element for Codex ``notify``) and checks the result
through the query API.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import HandlerRunner, QueryClient

from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations.ids import derived_id
from agentmon.sdk import Emitter


@pytest.fixture
def handler(run_handler: HandlerRunner, server: Any) -> HandlerRunner:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    return run_handler


def new_session() -> str:
    return str(uuid.uuid4())


def claude(session: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": f"/home/ada/.claude/projects/-home-ada-src-app/{session}.jsonl",
        "cwd": "/home/ada/src/app",
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


def run_statuses(detail: dict[str, Any]) -> list[str]:
    return [run["status"] for run in detail["runs"]]


def test_claude_code_session_with_parallel_tools_failure_compaction_and_waiting(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid = new_session()

    def send(name: str, **fields: Any) -> str:
        return handler("agentmon-claude-handler", claude(sid, name, **fields)).stdout

    bash = {"command": "pytest -q tests/test_parse.py"}
    outputs = [
        send("SessionStart", source="startup", model="claude-sonnet-4-6"),
        send("UserPromptSubmit", prompt="Fix the failing test in tests/test_parse.py"),
        send("PreToolUse", tool_name="Bash", tool_input=bash, tool_use_id="toolu_A"),
        send("PreToolUse", tool_name="Bash", tool_input=bash, tool_use_id="toolu_B"),
        send(
            "PostToolUse",
            tool_name="Bash",
            tool_input=bash,
            tool_use_id="toolu_B",
            tool_response={"stdout": "1 passed", "stderr": "", "interrupted": False},
        ),
        send(
            "PostToolUseFailure",
            tool_name="Bash",
            tool_input=bash,
            tool_use_id="toolu_A",
            error="Command timed out",
            is_interrupt=False,
        ),
        send("Stop", stop_hook_active=False),
        send("UserPromptSubmit", prompt="Now refactor the parser"),
        send("PreCompact", trigger="auto", custom_instructions=None),
        send("PostCompact", trigger="auto"),
        send("PermissionRequest", tool_name="Edit", tool_input={"file_path": "parser.py"}),
    ]
    assert outputs == [""] * len(outputs)
    waiting = query.wait_for_session(sid, lambda d: d["session"]["status"] == "waiting")
    assert waiting["session"]["waiting_reason"] == "permission_prompt"

    send(
        "PreToolUse", tool_name="Edit", tool_input={"file_path": "parser.py"}, tool_use_id="toolu_C"
    )
    send("UserPromptSubmit", prompt="Stop, do something else")
    send("StopFailure", error_type="rate_limit")
    send("SessionEnd", reason="prompt_input_exit")

    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] in ("ended", "error"))
    session = detail["session"]
    assert session["framework"] == "claude-code"
    assert session["model"] == "claude-sonnet-4-6"
    assert session["run_count"] == 3
    assert session["end_reason"] == "prompt_input_exit"
    assert run_statuses(detail) == ["ok", "unknown", "error"]
    assert detail["runs"][0]["input"] == "Fix the failing test in tests/test_parse.py"

    first = query.run(detail["runs"][0]["run_id"])
    by_status = sorted((span["name"], span["status"]) for span in first["spans"])
    assert by_status == [("Bash", "error"), ("Bash", "ok")]
    assert [error["message"] for error in first["errors"]] == ["Command timed out"]

    second = query.run(detail["runs"][1]["run_id"])
    kinds = {span["kind"]: span["status"] for span in second["spans"]}
    assert kinds["compaction"] == "ok"
    third = query.run(detail["runs"][2]["run_id"])
    assert [error["kind"] for error in third["errors"]] == ["rate_limit"]


def test_codex_notify_only_and_hooked_turn_with_usage(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid, notify_turn, hooked_turn = new_session(), new_session(), new_session()
    notify = {
        "type": "agent-turn-complete",
        "thread-id": sid,
        "turn-id": notify_turn,
        "cwd": "/home/ada/src/app",
        "input-messages": ["Rename foo to bar and update callsites."],
        "last-assistant-message": "Renamed; cargo build succeeds.",
        "client": "codex-tui",
    }
    handler("agentmon-codex-handler", notify, argv=True)

    def hook(name: str, **fields: Any) -> None:
        payload = {
            "session_id": sid,
            "turn_id": hooked_turn,
            "transcript_path": None,
            "cwd": "/home/ada/src/app",
            "hook_event_name": name,
            "model": "gpt-5.4",
            "permission_mode": "default",
            **fields,
        }
        handler("agentmon-codex-handler", payload)

    hook("userPromptSubmit", prompt="Add a test for bar")
    hook("PreToolUse", tool_name="Bash", tool_input={"command": "cargo test"}, tool_use_id="call_1")
    hook(
        "PostToolUse",
        tool_name="Bash",
        tool_input={"command": "cargo test"},
        tool_response={"exit_code": 101, "stdout": "", "stderr": "1 test failed"},
        tool_use_id="call_1",
    )
    hook(
        "Stop",
        stop_hook_active=False,
        last_assistant_message="Added; one test fails.",
        usage={"input_tokens": 18234, "cached_input_tokens": 16000, "output_tokens": 611},
    )
    handler("agentmon-codex-handler", {**notify, "turn-id": hooked_turn}, argv=True)

    detail = query.wait_for_session(sid, lambda d: len(d["runs"]) == 2)
    runs = {run["run_id"]: run for run in detail["runs"]}
    assert runs[notify_turn]["status"] == "ok"
    assert runs[notify_turn]["input"] == "Rename foo to bar and update callsites."
    assert runs[hooked_turn]["output"] == "Added; one test fails."
    assert detail["session"]["tokens"]["input"] == 18234
    assert detail["session"]["tokens"]["output"] == 611
    assert detail["session"]["tokens"]["cache_read"] == 16000
    spans = query.run(hooked_turn)["spans"]
    assert [(span["name"], span["status"]) for span in spans] == [("Bash", "error")]


def test_gemini_session_with_same_named_tools_streamed_model_and_compression(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid = new_session()

    def send(name: str, second: str, **fields: Any) -> str:
        payload = {
            "session_id": sid,
            "transcript_path": "/tmp/chat.json",
            "cwd": "/home/ada/src/app",
            "hook_event_name": name,
            "timestamp": f"2026-08-20T14:30:{second}Z",
            **fields,
        }
        return handler("agentmon-gemini-handler", payload).stdout

    def chunk(second: str, total: int, finish: str | None = None) -> str:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": ["..."]}}
        if finish:
            candidate["finishReason"] = finish
        return send(
            "AfterModel",
            second,
            llm_request={"model": "gemini-2.5-pro", "messages": []},
            llm_response={"candidates": [candidate], "usageMetadata": {"totalTokenCount": total}},
        )

    shell = "run_shell_command"
    outputs = [
        send("SessionStart", "00.000", source="startup"),
        send("BeforeAgent", "02.000", prompt="Why does test_parse fail?"),
        send("BeforeModel", "02.100", llm_request={"model": "gemini-2.5-pro", "messages": []}),
        chunk("02.600", 1500),
        chunk("03.000", 4820, finish="STOP"),
        send("BeforeTool", "04.000", tool_name=shell, tool_input={"command": "pytest a"}),
        send("BeforeTool", "04.200", tool_name=shell, tool_input={"command": "pytest b"}),
        send(
            "AfterTool",
            "05.000",
            tool_name=shell,
            tool_input={"command": "pytest a"},
            tool_response={
                "llmContent": "1 failed",
                "returnDisplay": "1 failed",
                "error": {"message": "Command exited with code 1"},
            },
        ),
        send(
            "AfterTool",
            "06.200",
            tool_name=shell,
            tool_input={"command": "pytest b"},
            tool_response={"llmContent": "ok", "returnDisplay": "ok"},
        ),
        send("PreCompress", "07.000", trigger="auto"),
        send(
            "AfterAgent",
            "09.500",
            prompt="Why does test_parse fail?",
            prompt_response="The parser drops the trailing newline",
            stop_hook_active=False,
        ),
        send("SessionEnd", "40.000", reason="exit"),
    ]
    assert outputs == ["{}\n"] * len(outputs)

    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] in ("ended", "error"))
    assert detail["session"]["tokens"]["total"] == 4820
    assert run_statuses(detail) == ["ok"]
    spans = query.run(detail["runs"][0]["run_id"])["spans"]
    tools = [
        (s["input"]["command"], s["status"], s["duration_ms"]) for s in spans if s["kind"] == "tool"
    ]
    assert tools == [("pytest a", "error", 1000), ("pytest b", "ok", 2000)]
    llm = [s for s in spans if s["kind"] == "llm"]
    assert [(s["name"], s["duration_ms"]) for s in llm] == [("gemini-2.5-pro", 900)]
    # Gemini CLI fires PreCompress (auto) before every model call: no shorter request
    # followed, so nothing was compressed and no compaction is recorded
    assert [s["status"] for s in spans if s["kind"] == "compaction"] == []


def test_hermes_turns_api_calls_tools_and_errors(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid = new_session()
    model = "anthropic/claude-sonnet-4.6"

    def send(name: str, tool: str | None = None, args: Any = None, **extra: Any) -> str:
        payload = {
            "hook_event_name": name,
            "tool_name": tool,
            "tool_input": args,
            "session_id": sid,
            "cwd": "/home/ada/src/app",
            "profile": "default",
            "extra": {**extra, "telemetry_schema_version": "hermes.observer.v1"},
        }
        return handler("agentmon-hermes-handler", payload).stdout

    usage = {
        "input_tokens": 2048,
        "output_tokens": 112,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 2160,
    }
    outputs = [
        send("on_session_start", model=model, platform="cli"),
        send("pre_llm_call", turn_id="turn_1", user_message="List the files here", model=model),
        send(
            "pre_api_request",
            turn_id="turn_1",
            api_request_id="req_1",
            model=model,
            started_at=1787236202.10,
        ),
        send(
            "post_api_request",
            turn_id="turn_1",
            api_request_id="req_1",
            model=model,
            api_duration=1.25,
            started_at=1787236202.10,
            ended_at=1787236203.35,
            usage=usage,
        ),
        send(
            "pre_tool_call",
            "terminal",
            {"command": "ls -la"},
            tool_call_id="toolu_1",
            turn_id="turn_1",
            api_request_id="req_1",
        ),
        send(
            "post_tool_call",
            "terminal",
            {"command": "ls -la"},
            tool_call_id="toolu_1",
            turn_id="turn_1",
            result='{"exit_code": 0}',
            duration_ms=37,
            status="ok",
        ),
        send(
            "api_request_error",
            turn_id="turn_1",
            api_request_id="req_2",
            model=model,
            status_code=429,
            retryable=True,
            reason="rate_limited",
            error={"type": "RateLimitError", "message": "429 Too Many Requests"},
        ),
        send("post_llm_call", turn_id="turn_1", assistant_response="There are 3 files"),
        send("on_session_end", completed=True, interrupted=False),
        send("pre_llm_call", turn_id="turn_2", user_message="Delete them", model=model),
        send("on_session_end", completed=False, interrupted=True),
        send("on_session_finalize", platform="cli"),
    ]
    assert outputs == [""] * len(outputs)

    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] in ("ended", "error"))
    # runs are named by their prompts, as `agentmon import hermes` names them
    prompts = ("List the files here", "Delete them")
    run_ids = [derived_id("hermes", sid, "span", prompt_run_key({}, p)) for p in prompts]
    assert [run["run_id"] for run in detail["runs"]] == run_ids
    assert run_statuses(detail) == ["ok", "cancelled"]
    assert detail["session"]["tokens"]["total"] == 2160
    first = query.run(run_ids[0])
    assert sorted((s["kind"], s["status"]) for s in first["spans"]) == [
        ("llm", "ok"),
        ("tool", "ok"),
    ]
    assert [(e["kind"], e["message"]) for e in first["errors"]] == [
        ("rate_limited", "429 Too Many Requests")
    ]


def test_parallel_hook_processes_of_one_session_lose_nothing(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid = new_session()
    handler("agentmon-claude-handler", claude(sid, "UserPromptSubmit", prompt="many tools"))
    ids = [f"toolu_{n}" for n in range(8)]

    def tool(tool_use_id: str) -> None:
        read = {"file_path": f"/src/{tool_use_id}.py"}
        handler(
            "agentmon-claude-handler",
            claude(sid, "PreToolUse", tool_name="Read", tool_input=read, tool_use_id=tool_use_id),
        )
        handler(
            "agentmon-claude-handler",
            claude(
                sid,
                "PostToolUse",
                tool_name="Read",
                tool_input=read,
                tool_use_id=tool_use_id,
                tool_response={"content": "..."},
            ),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(tool, ids))
    handler("agentmon-claude-handler", claude(sid, "Stop", stop_hook_active=False))

    detail = query.wait_for_session(sid, lambda d: run_statuses(d) == ["ok"])
    assert detail["session"]["run_count"] == 1
    spans = query.run(detail["runs"][0]["run_id"])["spans"]
    assert len(spans) == len(ids)
    assert {span["status"] for span in spans} == {"ok"}


def test_gateway_outage_spools_and_a_later_invocation_replays(
    run_handler: HandlerRunner, server: Any, query: QueryClient, unused_port: int
) -> None:
    sid = new_session()
    run_handler.env["AGENTMON_INGEST_URL"] = f"http://127.0.0.1:{unused_port}"
    run_handler("agentmon-claude-handler", claude(sid, "SessionStart", source="startup"))
    run_handler("agentmon-claude-handler", claude(sid, "UserPromptSubmit", prompt="offline"))
    spooled = [
        event for path in run_handler.spooled_files() for event in json.loads(path.read_text())
    ]
    assert [event["event"]["type"] for event in spooled] == ["session.start", "run.start"]
    assert any("spooling" in line for line in run_handler.log_lines())

    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    run_handler("agentmon-claude-handler", claude(sid, "Stop", stop_hook_active=False))

    assert run_handler.spooled_files() == []
    detail = query.wait_for_session(sid, lambda d: run_statuses(d) == ["ok"])
    assert detail["runs"][0]["input"] == "offline"
    stored = {event["event"]["id"] for event in query.events(session_id=sid)}
    assert {event["event"]["id"] for event in spooled} <= stored


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("agentmon-claude-handler", ""),
        ("agentmon-codex-handler", ""),
        ("agentmon-gemini-handler", "{}\n"),
        ("agentmon-hermes-handler", ""),
    ],
)
@pytest.mark.parametrize("garbage", ["{not json", "[1, 2]", "", '{"hook_event_name": "Stop"}'])
def test_malformed_input_exits_0_sends_nothing_and_logs(
    handler: HandlerRunner, query: QueryClient, command: str, answer: str, garbage: str
) -> None:
    newest_before = query.events(limit=1)
    result = handler(command, garbage)
    assert result.stdout == answer
    assert query.events(limit=1) == newest_before
    assert handler.spooled_files() == []
    assert any("malformed input, nothing sent" in line for line in handler.log_lines())


def test_out_of_order_hooks_still_give_closed_spans_in_the_right_run(
    handler: HandlerRunner, query: QueryClient
) -> None:
    sid = new_session()
    grep = {"command": "rg parse"}

    def send(name: str, **fields: Any) -> None:
        handler("agentmon-claude-handler", claude(sid, name, **fields))

    send("UserPromptSubmit", prompt="find the parser")
    send(
        "PostToolUse",
        tool_name="Bash",
        tool_input=grep,
        tool_use_id="toolu_early",
        tool_response={"stdout": "src/parse.py"},
    )
    send("PreToolUse", tool_name="Bash", tool_input=grep, tool_use_id="toolu_early")
    send("PreToolUse", tool_name="Read", tool_input={"file_path": "a.py"}, tool_use_id="toolu_late")
    send("Stop", stop_hook_active=False)
    send(
        "PostToolUse",
        tool_name="Read",
        tool_input={"file_path": "a.py"},
        tool_use_id="toolu_late",
        tool_response={"content": "..."},
    )

    detail = query.wait_for_session(sid, lambda d: run_statuses(d) == ["ok"])
    assert detail["session"]["run_count"] == 1
    spans = query.run(detail["runs"][0]["run_id"])["spans"]
    assert sorted((span["name"], span["status"]) for span in spans) == [
        ("Bash", "ok"),
        ("Read", "ok"),
    ]


def test_api_key_wrong_then_right_loses_nothing(
    run_handler: HandlerRunner, make_embedded_server: Any, tmp_path: Path
) -> None:
    guarded = make_embedded_server(env={"AGENTMON_API_KEY": "s3cret"})
    guarded_query = QueryClient(guarded.query_url, api_key="s3cret")  # it guards reads too
    sid = new_session()
    run_handler.env.update(AGENTMON_INGEST_URL=guarded.ingest_url, AGENTMON_API_KEY="wrong")
    run_handler("agentmon-claude-handler", claude(sid, "UserPromptSubmit", prompt="guarded"))
    assert len(run_handler.spooled_files()) == 1
    assert any("401" in line for line in run_handler.log_lines())

    run_handler.env["AGENTMON_API_KEY"] = "s3cret"
    run_handler("agentmon-claude-handler", claude(sid, "Stop", stop_hook_active=False))
    assert run_handler.spooled_files() == []
    detail = guarded_query.wait_for_session(sid, lambda d: run_statuses(d) == ["ok"])
    assert detail["runs"][0]["input"] == "guarded"

    with (
        Emitter(
            server_url=guarded.ingest_url,
            api_key="s3cret",
            framework="sdk-test",
            spool_dir=str(tmp_path / "sdk-spool"),
        ) as emitter,
        emitter.session() as session,
    ):
        sdk_session = session.session_id
    guarded_query.wait_for_session(sdk_session, lambda d: d["session"]["status"] == "ended")
