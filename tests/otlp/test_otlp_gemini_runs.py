"""Gemini CLI's OTel logs as runs: headless prompts, turn ends, and sessions its hooks report.

Shapes as Gemini CLI 0.61.0 sends them (tests/real_agents/gemini/test_gemini_otel.py drives
the real binary): in `-p` mode `prompt_id` is the session id for every prompt, and
`response_text` is the JSON list of streamed chunks.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from otlp_intake import ListIntake
from otlp_messages import log_record, logs_request, otlp_json

from agentmon.events import Envelope
from agentmon.otlp.logs import map_logs
from agentmon.otlp.memory import CorrelationMemory

SESSION = "95c6a892-aa1b-48ec-a5ef-3c5c49cbada3"
HEADLESS = {"session.id": SESSION, "prompt_id": SESSION}


def mapped(records: list[Any], memory: CorrelationMemory) -> list[Envelope]:
    result = map_logs(logs_request(records, "gemini-cli"), memory)
    assert result.rejected == 0, result.error_message
    return result.events


def prompt(text: str, at_ms: int) -> Any:
    return log_record(
        {**HEADLESS, "event.name": "gemini_cli.user_prompt", "prompt": text}, at_ms=at_ms
    )


def chunks(*parts: dict[str, Any]) -> str:
    return json.dumps(
        [{"candidates": [{"content": {"role": "model", "parts": [p]}}]} for p in parts]
    )


def response(response_text: object, at_ms: int, role: str = "main") -> Any:
    attrs = {
        **HEADLESS,
        "event.name": "gemini_cli.api_response",
        "model": "gemini-3.8-flash",
        "input_token_count": 1000,
        "output_token_count": 20,
        "total_token_count": 1020,
        "duration_ms": 100,
        "role": role,
        "response_text": response_text,
    }
    return log_record(attrs, at_ms=at_ms)


def hook_call(name: object) -> Any:
    attrs = {**HEADLESS, "event.name": "gemini_cli.hook_call", "hook_name": name}
    return log_record(attrs, at_ms=1)


def of_type(events: list[Envelope], event_type: str) -> list[Envelope]:
    return [e for e in events if e.type == event_type]


def test_headless_prompts_of_one_session_are_separate_runs_that_end() -> None:
    memory = CorrelationMemory()
    first = mapped(
        [
            prompt("TOOL_OK please", 1000),
            response(chunks({"text": "routing"}), 1100, role="utility_router"),
            response(chunks({"text": "Let me look. "}, {"functionCall": {"name": "ls"}}), 1500),
            response(chunks({"text": "The tool said "}, {"text": "hello."}), 2500),
        ],
        memory,
    )
    second = mapped([prompt("again", 5000), response(chunks({"text": "Just text."}), 5200)], memory)
    (start_1,), (start_2,) = of_type(first, "run.start"), of_type(second, "run.start")
    assert start_1.correlation.run_id != start_2.correlation.run_id
    assert SESSION not in (start_1.correlation.run_id, start_2.correlation.run_id)
    assert {e.correlation.run_id for e in first} == {start_1.correlation.run_id}
    (end_1,) = of_type(first, "run.end")  # not the router's reply, not the one calling a tool
    assert (end_1.payload["status"], end_1.payload["output"]) == ("ok", "The tool said hello.")
    assert len(of_type(first, "metric.snapshot")) == 3
    (end_2,) = of_type(second, "run.end")
    assert end_2.correlation.run_id == start_2.correlation.run_id


@pytest.mark.parametrize(
    "response_text",
    [
        None,
        "",
        "not json",
        "[1, 2",
        '{"candidates": 7}',
        "[[[[" * 400,
        42,
        '[{"candidates": [null, {"content": []}]}]',
    ],
)
def test_an_unreadable_or_unlogged_response_ends_no_run(response_text: object) -> None:
    events = mapped([prompt("hi", 1000), response(response_text, 1200)], CorrelationMemory())
    assert of_type(events, "run.end") == []
    assert len(of_type(events, "metric.snapshot")) == 1


def test_with_agentmon_hooks_in_the_session_otel_adds_only_api_errors() -> None:
    """The hooks own runs, calls and usage (read from the transcript): counted once."""
    failure = log_record(
        {**HEADLESS, "event.name": "gemini_cli.api_error", "error.message": "quota"}, at_ms=3000
    )
    tool = log_record({**HEADLESS, "event.name": "gemini_cli.tool_call", "function_name": "ls"})
    events = mapped(
        [
            hook_call("agentmon"),
            prompt("hi", 1000),
            response(chunks({"text": "x"}), 2000),
            tool,
            failure,
        ],
        CorrelationMemory(),
    )
    assert [e.type for e in events] == ["error"]
    assert events[0].correlation.run_id is None and events[0].payload["message"] == "quota"


@pytest.mark.parametrize("name", ["my-linter", "", "unknown-command", 42, None, "x" * 100_000])
def test_other_hooks_do_not_silence_otel(name: object) -> None:
    events = mapped([hook_call(name), prompt("hi", 1000)], CorrelationMemory())
    assert [e.type for e in events] == ["run.start"]


def test_a_hook_call_without_a_session_marks_nothing() -> None:
    record = log_record({"event.name": "gemini_cli.hook_call", "hook_name": "agentmon"})
    memory = CorrelationMemory()
    assert mapped([record], memory) == [] and len(memory.current_runs) == 0


HOSTILE_VALUES: list[object] = [
    None,
    "",
    "[[[[" * 400,
    '{"candidates": [{"content": 1}]}',
    7,
    ["x"],
]


async def test_hostile_gemini_records_through_the_receiver_are_accepted(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    """Odd values in the attributes the Gemini mapping reads: 200 and mapped, never a 5xx."""
    records = [
        log_record({**HEADLESS, "event.name": name, key: value})
        for value in HOSTILE_VALUES
        for name, key in (
            ("gemini_cli.hook_call", "hook_name"),
            ("gemini_cli.api_response", "response_text"),
            ("gemini_cli.api_response", "role"),
            ("gemini_cli.user_prompt", "prompt_id"),
            ("gemini_cli.api_error", "prompt_id"),
        )
    ]
    body = otlp_json(logs_request(records, "gemini-cli"))
    response = await receiver.post(
        "/v1/logs", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    # the only rejections: a `prompt_id` too long to be a run id, named as such
    problems = response.json()["partialSuccess"]["errorMessage"].split("; ")
    assert problems and all("run_id is longer than 256" in p for p in problems)
    assert any(event.type == "run.start" for event in intake.events)
