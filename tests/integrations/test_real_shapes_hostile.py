"""Hostile values in the hook fields the real-client fixes read (PostToolBatch's
`tool_calls`, `prompt_id`, `duration_ms`, the Agent tool's response, Codex's plain-string
`tool_response` and rollout path, the task and elicitation hooks' fields): every Claude
Code and Codex hook maps them to valid events or rejects the payload as malformed, never
crashes."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import Replay

from agentmon.integrations import claude, codex
from agentmon.integrations._hookio import MalformedPayload

HOSTILE: list[Any] = [
    None,
    "",
    "x" * 20_000,
    -1,
    1e308,
    True,
    [],
    [None, 1, "a", {"tool_use_id": 5}],
    {},
    {"nested": {"deep": [1, 2, {"x": None}]}},
]
FIELDS = (
    "tool_calls",
    "prompt_id",
    "duration_ms",
    "tool_response",
    "tool_input",
    "last_assistant_message",
    "model",
    "transcript_path",
    "agent_type",
    "turn_id",
    "task_id",
    "task_subject",
    "task_description",
    "elicitation_id",
    "mcp_server_name",
    "message",
    "action",
    "content",
    "requested_schema",
)


@pytest.mark.parametrize(
    ("module", "event"),
    [(claude, name) for name in claude._HANDLERS] + [(codex, name) for name in codex._HANDLERS],
)
def test_hostile_fields_map_or_are_rejected(module: Any, event: str, tmp_path: Path) -> None:
    replay = Replay(module.map_payload, module.session_of)
    base = {
        "session_id": "hostile-session",
        "hook_event_name": event,
        "tool_name": "Agent",
        "tool_use_id": "toolu_1",
        "turn_id": "turn-1",
    }
    for field, value in itertools.product(FIELDS, HOSTILE):
        payload = {**base, field: value}
        if field == "transcript_path" and value == {}:
            payload[field] = str(tmp_path / "missing.jsonl")
        with contextlib.suppress(MalformedPayload):
            replay(payload)


@pytest.mark.parametrize("output", HOSTILE)
def test_hostile_rollout_answers_to_an_open_codex_call_never_crash(
    output: Any, tmp_path: Path
) -> None:
    """The turn's end reads the rollout's `function_call_output` of each call left open."""
    rollout = tmp_path / "rollout.jsonl"
    answer = {"type": "function_call_output", "call_id": "call_1", "output": output}
    lines = [json.dumps({"type": "response_item", "payload": answer}), "{not json call_1", ""]
    rollout.write_text("\n".join(lines))
    replay = Replay(codex.map_payload, codex.session_of)
    common = {"session_id": "hostile-session", "turn_id": "turn-1", "tool_name": "Bash"}
    common["transcript_path"] = str(rollout)
    replay({**common, "hook_event_name": "PreToolUse", "tool_use_id": "call_1"})
    events = replay({**common, "hook_event_name": "Stop"})
    ends = [event for event in events if event["event"]["type"] == "span.end"]
    assert len(ends) == (1 if isinstance(output, str) else 0)
    assert events[-1]["event"]["type"] == "run.end"
