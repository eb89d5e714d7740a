"""Hermes shell-hook payloads → envelopes (the pure mapping, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from integration_helpers import Replay, of_type, types

from agentmon.integrations import hermes
from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations.ids import derived_id

SESSION = "20260820_143000_a1b2c3"
MODEL = "anthropic/claude-sonnet-4.6"


def hook(name: str, *, tool: str | None = None, args: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "hook_event_name": name,
        "tool_name": tool,
        "tool_input": args,
        "session_id": SESSION,
        "cwd": "/home/ada/src/app",
        "profile": "default",
        "extra": {**extra, "telemetry_schema_version": "hermes.observer.v1"},
    }


def turn_start(turn: str = "turn_7f3a", message: str = "List the files here") -> dict[str, Any]:
    return hook(
        "pre_llm_call",
        turn_id=turn,
        user_message=message,
        conversation_history=[],
        is_first_turn=True,
        model=MODEL,
        platform="cli",
        sender_id=None,
    )


@pytest.fixture
def replay() -> Replay:
    return Replay(hermes.map_payload, hermes.session_of)


def test_a_turn_with_an_api_call_a_tool_and_usage(replay: Replay) -> None:
    usage = {
        "input_tokens": 2048,
        "output_tokens": 112,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 2160,
    }
    events = replay(
        hook("on_session_start", model=MODEL, platform="cli"),
        turn_start(),
        hook(
            "pre_api_request",
            turn_id="turn_7f3a",
            api_request_id="req_1",
            model=MODEL,
            provider="openrouter",
            started_at=1787236202.10,
        ),
        hook(
            "post_api_request",
            turn_id="turn_7f3a",
            api_request_id="req_1",
            model=MODEL,
            api_duration=1.25,
            started_at=1787236202.10,
            ended_at=1787236203.35,
            usage=usage,
            finish_reason="tool_calls",
        ),
        hook(
            "pre_tool_call",
            tool="terminal",
            args={"command": "ls -la"},
            tool_call_id="toolu_01",
            turn_id="turn_7f3a",
            api_request_id="req_1",
        ),
        hook(
            "post_tool_call",
            tool="terminal",
            args={"command": "ls -la"},
            tool_call_id="toolu_01",
            turn_id="turn_7f3a",
            result='{"exit_code": 0}',
            duration_ms=37,
            status="ok",
        ),
        hook(
            "post_llm_call",
            turn_id="turn_7f3a",
            assistant_response="There are 3 files",
            model=MODEL,
            platform="cli",
        ),
        hook("on_session_end", completed=True, interrupted=False, model=MODEL, platform="cli"),
        hook("on_session_finalize", platform="cli"),
    )
    assert types(events) == [
        "session.start",
        "run.start",
        "span.start",
        "span.end",
        "metric.snapshot",
        "span.start",
        "span.end",
        "run.end",
        "session.end",
    ]
    # the run is named after its prompt, as `agentmon import hermes` names it
    run_id = derived_id("test", SESSION, "span", prompt_run_key({}, "List the files here"))
    assert {e["correlation"].get("run_id") for e in events[1:8]} == {run_id}
    llm_end = events[3]
    assert llm_end["payload"]["kind"] == "llm"
    assert llm_end["payload"]["duration_ms"] == 1250
    assert llm_end["event"]["ts"] == "2026-08-20T14:30:03.350000Z"
    assert events[4]["payload"]["usage"]["total_tokens"] == 2160
    assert events[6]["payload"]["duration_ms"] == 37
    assert events[6]["payload"]["status"] == "ok"
    assert events[7]["payload"]["status"] == "ok"


@pytest.mark.parametrize(
    ("completed", "interrupted", "status"),
    [(False, True, "cancelled"), (False, False, "error"), (True, False, "ok")],
)
def test_on_session_end_closes_the_open_turn(
    replay: Replay, completed: bool, interrupted: bool, status: str
) -> None:
    replay(turn_start())
    events = replay(hook("on_session_end", completed=completed, interrupted=interrupted))
    assert types(events) == ["run.end"]
    assert events[0]["payload"]["status"] == status


def test_on_session_end_after_post_llm_call_adds_nothing(replay: Replay) -> None:
    replay(turn_start(), hook("post_llm_call", turn_id="turn_7f3a", assistant_response="ok"))
    assert replay(hook("on_session_end", completed=True, interrupted=False)) == []


def test_api_request_error_is_an_error_and_ends_the_span_when_final(replay: Replay) -> None:
    replay(turn_start())
    retryable = replay(
        hook(
            "api_request_error",
            turn_id="turn_7f3a",
            api_request_id="req_2",
            status_code=429,
            retryable=True,
            reason="rate_limited",
            error={"type": "RateLimitError", "message": "429 Too Many Requests"},
        )
    )
    final = replay(
        hook(
            "api_request_error",
            turn_id="turn_7f3a",
            api_request_id="req_3",
            status_code=500,
            retryable=False,
            reason="server_error",
            error={"type": "APIError", "message": "500"},
        )
    )
    assert types(retryable) == ["error"]
    assert retryable[0]["payload"]["kind"] == "rate_limited"
    assert retryable[0]["payload"]["status_code"] == 429
    assert types(final) == ["span.end", "error"]
    assert final[0]["payload"]["status"] == "error"


def test_failed_and_blocked_tools(replay: Replay) -> None:
    events = replay(
        hook(
            "post_tool_call",
            tool="terminal",
            args={},
            tool_call_id="t1",
            turn_id="turn_x",
            duration_ms=5,
            status="error",
            error_type="ExitCode",
            error_message="exit 2",
        ),
        hook(
            "post_tool_call",
            tool="terminal",
            args={},
            tool_call_id="t2",
            turn_id="turn_x",
            duration_ms=1,
            status="blocked",
        ),
    )
    ends = of_type(events, "span.end")
    assert [e["payload"]["status"] for e in ends] == ["error", "cancelled"]
    assert all(e["payload"]["reconstructed"] for e in ends)
    assert of_type(events, "error")[0]["payload"]["message"] == "exit 2"
    assert events[1]["correlation"]["run_id"] == "turn_x"


def test_subagents_are_agent_spans_in_the_parent_session(replay: Replay) -> None:
    replay(turn_start())
    start = replay(
        hook(
            "subagent_start",
            parent_session_id=SESSION,
            parent_turn_id="turn_7f3a",
            child_session_id="child_1",
            child_subagent_id="sa_1",
            child_role="researcher",
            child_goal="find the docs",
        )
    )[-1]
    stop = replay(
        hook(
            "subagent_stop",
            parent_session_id=SESSION,
            child_role="researcher",
            child_summary="found",
            child_status="failed",
            duration_ms=900,
        )
    )[-1]
    assert start["payload"]["kind"] == "agent"
    assert stop["correlation"]["span_id"] == start["correlation"]["span_id"]
    assert stop["payload"]["status"] == "error"
    assert stop["payload"]["duration_ms"] == 900


def test_session_reset_ends_the_old_session_and_starts_the_new_one(replay: Replay) -> None:
    events = replay(
        hook(
            "on_session_reset",
            platform="telegram",
            old_session_id="old_sess",
            new_session_id=SESSION,
        )
    )
    assert types(events) == ["session.end", "session.start"]
    assert events[0]["correlation"]["session_id"] == "old_sess"
    assert events[1]["correlation"]["session_id"] == SESSION
    assert events[1]["payload"]["previous_session_id"] == "old_sess"
