"""The pure log mapping: Claude Code, Codex and Gemini CLI events, and everything else."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from otlp_messages import fixture_text, flattened_record, log_record, logs_request

from agentmon.events import Envelope
from agentmon.integrations._hookio import derived_id
from agentmon.otlp.decode import Encoding, parse
from agentmon.otlp.logs import map_logs
from agentmon.otlp.memory import CorrelationMemory

CLAUDE_SESSION = "9b2f0c3a-1d4e-4f5a-8b6c-7d8e9f0a1b2c"
CLAUDE_PROMPT = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
CODEX_SESSION = "019d036d-c7fa-72d2-b6fd-78878bfe34e4"
GEMINI_PROMPT = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f########7"


def mapped_events(records: list[Any], service: str, memory: CorrelationMemory | None = None):
    mapped = map_logs(logs_request(records, service), memory or CorrelationMemory())
    assert mapped.rejected == 0, mapped.error_message
    return mapped.events


def types(events: list[Envelope]) -> list[str]:
    return [e.type for e in events]


def claude_api_request_body() -> ExportLogsServiceRequest:
    return parse(
        fixture_text("claude_api_request.logs.json").encode(),
        Encoding.JSON,
        ExportLogsServiceRequest(),
    )


def without_name(request: ExportLogsServiceRequest, *, keep_body: bool) -> ExportLogsServiceRequest:
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    record.event_name = ""
    if not keep_body:
        record.ClearField("body")
    return request


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param(claude_api_request_body(), id="eventName"),
        pytest.param(without_name(claude_api_request_body(), keep_body=True), id="body"),
        pytest.param(without_name(claude_api_request_body(), keep_body=False), id="event.name"),
    ],
)
def test_claude_api_request_is_an_llm_call_with_counted_usage(
    request_body: ExportLogsServiceRequest,
) -> None:
    events = map_logs(request_body, CorrelationMemory()).events
    assert types(events) == ["span.end", "metric.snapshot"]  # the store derives the start
    end, snapshot = events
    assert {e.correlation.session_id for e in events} == {CLAUDE_SESSION}
    assert {e.correlation.run_id for e in events} == {CLAUDE_PROMPT}
    assert end.ts == "2026-08-20T14:30:07.120000Z"
    assert end.payload["kind"] == "llm" and end.payload["name"] == "claude-sonnet-4-6"
    assert end.payload["reconstructed"] is True
    assert end.payload["duration_ms"] == 4820
    assert snapshot.payload == {
        "usage": {"input_tokens": 312, "output_tokens": 540, "total_tokens": 852},
        "cost_usd": 0.0213,
        "model": "claude-sonnet-4-6",
    }
    assert snapshot.correlation.span_id == end.correlation.span_id


def test_claude_tool_result_is_a_reconstructed_tool_span_joined_by_tool_use_id() -> None:
    record = log_record(flattened_record("tool_result"), at_ms=5010)
    events = mapped_events([record], "claude-code")
    assert types(events) == ["span.end"]
    (end,) = events
    # the span id the hook handler derives from the same tool_use_id: one span for both
    hook_span = derived_id("claude-code", CLAUDE_SESSION, "span", "tool:toolu_01ABCDEFG")
    assert end.correlation.span_id == hook_span
    assert end.correlation.run_id == CLAUDE_PROMPT
    assert (end.payload["kind"], end.payload["name"], end.payload["status"]) == (
        "tool",
        "Bash",
        "ok",
    )
    assert end.payload["duration_ms"] == 612
    assert end.ts == "2026-08-20T14:30:05.010000Z"


def test_claude_prompt_opens_a_run_and_api_error_is_an_error() -> None:
    common = {"session.id": CLAUDE_SESSION, "prompt.id": CLAUDE_PROMPT}
    prompt = log_record(
        {**common, "event.name": "user_prompt", "prompt": "Fix the test", "prompt_length": 12}
    )
    failure = log_record(
        {**common, "event.name": "api_error", "error": "Overloaded", "status_code": "529"},
        at_ms=2000,
    )
    run_start, error = mapped_events([prompt, failure], "claude-code")
    assert (run_start.type, run_start.correlation.run_id) == ("run.start", CLAUDE_PROMPT)
    assert run_start.payload["input"] == "Fix the test"
    assert error.type == "error"
    assert error.payload == {"message": "Overloaded", "kind": "api", "status_code": 529}


def test_claude_assistant_response_ends_the_prompt_run() -> None:
    """Claude Code 2.1.197 logs `assistant_response` after a prompt's last model call
    (captured from the real CLI); OTel alone then closes its run."""
    common = {"session.id": CLAUDE_SESSION, "prompt.id": CLAUDE_PROMPT}
    redacted = {"event.name": "assistant_response", "response_length": 4, "response": "<REDACTED>"}
    reply = log_record({**common, **redacted, "request_id": "req_0003", "model": "claude-opus-4-8"})
    logged = log_record(
        {**common, **redacted, "response": "done", "model": "claude-opus-4-8[1m]"}, at_ms=5
    )
    hidden, shown = mapped_events([reply, logged], "claude-code")
    assert (hidden.type, hidden.correlation.run_id) == ("run.end", CLAUDE_PROMPT)
    assert hidden.payload == {"status": "ok", "model": "claude-opus-4-8"}
    assert shown.payload["output"] == "done"
    assert shown.payload["model_raw"] == "claude-opus-4-8[1m]"


def test_claude_api_error_it_does_not_retry_ends_the_run_as_failed() -> None:
    common = {"session.id": CLAUDE_SESSION, "prompt.id": CLAUDE_PROMPT, "event.name": "api_error"}
    refused = log_record(
        {**common, "error": "scripted failure 400", "status_code": 400, "attempt": 1}
    )
    limited = log_record({**common, "error": "rate limited", "status_code": 429})
    error, run_end, retried = mapped_events([refused, limited], "claude-code")
    assert error.type == "error" and retried.type == "error"
    assert (run_end.type, run_end.correlation.run_id) == ("run.end", CLAUDE_PROMPT)
    assert run_end.payload["status"] == "error"
    assert run_end.payload["error"] == "API Error: 400 scripted failure 400"


def test_codex_events_share_the_run_opened_by_the_user_prompt() -> None:
    memory = CorrelationMemory()
    common = {"conversation.id": CODEX_SESSION, "model": "gpt-5.4"}
    starts = log_record(
        {**common, "event.name": "codex.conversation_starts", "provider_name": "openai"}
    )
    prompt = log_record({**common, "event.name": "codex.user_prompt", "prompt_length": 38}, at_ms=1)
    sse = log_record(flattened_record("codex.sse_event"), at_ms=7120)
    tool = log_record(flattened_record("codex.tool_result"), at_ms=5010)
    session_start, run_start, snapshot, tool_end = mapped_events(
        [starts, prompt, sse, tool], "codex_exec", memory
    )
    assert session_start.type == "session.start"
    assert session_start.payload["model"] == "gpt-5.4"
    assert session_start.event.source.framework == "codex"
    run_id = run_start.correlation.run_id
    assert run_start.type == "run.start" and run_id
    assert snapshot.correlation.run_id == run_id == tool_end.correlation.run_id
    assert snapshot.payload["usage"] == {
        "input_tokens": 18234,
        "output_tokens": 611,
        "cache_read_tokens": 16000,
        "total_tokens": 18845,
    }
    # the span id Codex's hook handler derives from the same call id: one span for both
    assert tool_end.correlation.span_id == derived_id(
        "codex", CODEX_SESSION, "span", "tool:call_Xb12"
    )
    assert tool_end.payload["status"] == "ok" and tool_end.payload["duration_ms"] == 48
    assert {e.correlation.session_id for e in (snapshot, tool_end)} == {CODEX_SESSION}


def test_codex_failures_and_other_events() -> None:
    common = {"conversation.id": CODEX_SESSION}
    failed_request = log_record(
        {
            **common,
            "event.name": "codex.api_request",
            "attempt": 2,
            "http.response.status_code": 429,
            "error.message": "rate limited",
        }
    )
    fine_request = log_record(
        {**common, "event.name": "codex.api_request", "http.response.status_code": 200}
    )
    failed_tool = log_record(
        {
            **common,
            "event.name": "codex.tool_result",
            "tool_name": "shell",
            "duration_ms": "10",
            "success": "false",
            "output": "exit 1",
        }
    )
    delta = log_record(
        {**common, "event.name": "codex.sse_event", "event.kind": "response.created"}
    )
    events = mapped_events([failed_request, fine_request, failed_tool, delta], "codex_tui")
    assert types(events) == ["error", "metric.snapshot", "span.end", "error", "metric.snapshot"]
    request_error, kept_request, tool_end, tool_error, kept_delta = events
    assert request_error.payload == {"message": "rate limited", "kind": "api", "status_code": 429}
    assert "usage" not in kept_request.payload
    assert (tool_end.payload["status"], tool_end.payload["error"]) == ("error", "exit 1")
    assert tool_error.payload == {"message": "exit 1", "kind": "tool"}
    assert kept_delta.payload["log"]["event_name"] == "codex.sse_event"


def test_gemini_api_response_and_tool_call() -> None:
    response = log_record(flattened_record("gemini_cli.api_response"), at_ms=9300)
    tool = log_record(flattened_record("gemini_cli.tool_call"), at_ms=6900)
    events = mapped_events([response, tool], "gemini-cli")
    assert types(events) == ["span.end", "metric.snapshot", "span.end", "error"]
    llm_end, snapshot, tool_end, tool_error = events
    assert {e.correlation.run_id for e in events} == {GEMINI_PROMPT}
    assert snapshot.payload["usage"] == {
        "input_tokens": 4100,
        "output_tokens": 620,
        "cache_read_tokens": 0,
        "total_tokens": 4820,
        "reasoning_tokens": 100,
    }
    assert (llm_end.payload["kind"], llm_end.payload["duration_ms"]) == ("llm", 3120)
    assert (tool_end.payload["name"], tool_end.payload["status"]) == ("run_shell_command", "error")
    assert tool_error.payload["message"] == "Command exited with code 1"


def test_gemini_real_shapes_cache_thoughts_and_a_failed_shell() -> None:
    """As Gemini CLI 0.61.0 sends them: input includes the cached tokens; a shell command
    that exits 2 is `success: true` with `metadata` {exitCode, isError} as JSON text."""
    common = {"session.id": "gem", "prompt_id": "gem"}
    response = log_record(
        {
            **common,
            "event.name": "gemini_cli.api_response",
            "model": "gemini-3.8-flash",
            "duration_ms": 226,
            "input_token_count": 1000,
            "output_token_count": 20,
            "cached_content_token_count": 600,
            "thoughts_token_count": 30,
            "total_token_count": 1050,
        }
    )
    shell = log_record(
        {
            **common,
            "event.name": "gemini_cli.tool_call",
            "function_name": "run_shell_command",
            "duration_ms": 106,
            "success": True,
            "metadata": '{\n  "exitCode": 2,\n  "isError": true\n}',
        }
    )
    _llm, snapshot, tool_end, tool_error = mapped_events([response, shell], "gemini-cli")
    assert snapshot.payload["usage"] == {
        "input_tokens": 400,
        "output_tokens": 20,
        "cache_read_tokens": 600,
        "total_tokens": 1050,
        "reasoning_tokens": 30,
    }
    assert (tool_end.payload["status"], tool_end.payload["error"]) == ("error", "exit code 2")
    assert tool_end.payload["exit_code"] == 2
    assert tool_error.payload["message"] == "exit code 2"


@pytest.mark.parametrize(
    "metadata",
    ["{not json", "[" * 5000 + "]" * 5000, '{"exitCode": "two", "isError": "yes"}', "{" + "}", 7],
)
def test_gemini_tool_call_with_odd_metadata_is_read_as_given(metadata: object) -> None:
    shell = log_record(
        {
            "session.id": "gem",
            "prompt_id": "gem",
            "event.name": "gemini_cli.tool_call",
            "function_name": "run_shell_command",
            "duration_ms": 5,
            "success": True,
            "metadata": metadata,
        }
    )
    (tool_end,) = mapped_events([shell], "gemini-cli")
    assert tool_end.payload["status"] == "ok"


def test_gemini_prompt_and_api_error() -> None:
    common = {"session.id": "gem-session", "prompt_id": "gem-session########1"}
    prompt = log_record({**common, "event.name": "gemini_cli.user_prompt", "prompt": "hi"})
    failure = log_record(
        {
            **common,
            "event.name": "gemini_cli.api_error",
            "error.message": "quota",
            "error_type": "rate_limit",
            "status_code": 429,
        }
    )
    run_start, error, run_end = mapped_events([prompt, failure], "gemini-cli")
    assert run_start.type == "run.start" and run_start.correlation.run_id == common["prompt_id"]
    assert error.payload == {"message": "quota", "kind": "rate_limit", "status_code": 429}
    assert run_end.type == "run.end" and run_end.correlation.run_id == common["prompt_id"]
    assert (run_end.payload["status"], run_end.payload["error"]) == ("error", "quota")


def test_unknown_records_are_kept_as_errors_or_snapshots() -> None:
    info = log_record({"user": "ada"}, body="cache warmed", severity=9)
    failure = log_record({}, body="disk full", severity=17)
    decision = log_record({"event.name": "tool_decision", "decision": "accept"})
    snapshot, error, kept = mapped_events([info, failure, decision], "claude-code")
    assert (snapshot.type, snapshot.payload["message"]) == ("metric.snapshot", "cache warmed")
    assert snapshot.attributes == {"user": "ada"}
    assert (error.type, error.payload["message"]) == ("error", "disk full")
    assert kept.payload["log"]["event_name"] == "claude_code.tool_decision"


def test_records_map_to_the_same_ids_from_json_and_protobuf() -> None:
    request = claude_api_request_body()
    again = ExportLogsServiceRequest()
    again.ParseFromString(request.SerializeToString())
    via_json = parse(
        json_format.MessageToJson(request).encode(), Encoding.JSON, ExportLogsServiceRequest()
    )
    ids = [
        [e.id for e in map_logs(r, CorrelationMemory()).events] for r in (request, again, via_json)
    ]
    assert ids[0] == ids[1] == ids[2]
