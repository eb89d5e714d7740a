"""Codex rollout lines built from the field names of the transcripts spec (§2): ``{timestamp,
type, payload}`` with ``session_meta``, ``turn_context``, ``response_item`` (``function_call``,
``function_call_output``) and ``event_msg`` (``user_message``, ``agent_message``,
``token_count{info{total_token_usage, last_token_usage}}``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def line(second: int, kind: str, payload: dict[str, Any]) -> str:
    stamp = f"2026-08-20T07:30:{second:02d}.000Z"
    return json.dumps({"timestamp": stamp, "type": kind, "payload": payload})


def tokens(input_tokens: int, cached: int, output: int, reasoning: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "output_tokens": output,
        "reasoning_output_tokens": reasoning,
        "total_tokens": input_tokens + output,
    }


def token_count(second: int, total: dict[str, int], last: dict[str, int]) -> str:
    info = {"total_token_usage": total, "last_token_usage": last, "model_context_window": 272000}
    return line(second, "event_msg", {"type": "token_count", "info": info, "rate_limits": None})


def write_rollout(path: Path, thread_id: str) -> dict[str, int]:
    """Two turns; each `token_count` is written twice with an unchanged total (as Codex
    does), and one with `info: null`; the turns are `<thread>-t1` and `<thread>-t2`. Returns
    the tokens a correct reader counts."""
    first = tokens(9120, 6400, 310, 128)
    second_last = tokens(4000, 3000, 90, 10)
    second = {name: first[name] + second_last[name] for name in first}
    lines = [
        line(0, "session_meta", {"id": thread_id, "timestamp": "2026-08-20T07:30:00.000Z",
                                 "cwd": "/home/ada/app", "originator": "codex_cli_rs",
                                 "cli_version": "0.150.0", "source": "cli"}),
        line(1, "turn_context", {"turn_id": f"{thread_id}-t1", "cwd": "/home/ada/app",
                                  "model": "gpt-5.4"}),
        line(1, "response_item", {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "<environment_context>...</environment_context>"}]}),
        line(2, "event_msg", {"type": "user_message", "message": "Run the tests"}),
        line(3, "response_item", {"type": "function_call", "name": "shell", "call_id": "call_1",
                                  "arguments": json.dumps({"command": ["pytest", "-q"]})}),
        line(5, "response_item", {"type": "function_call_output", "call_id": "call_1",
                                  "output": json.dumps({"output": "2 failed",
                                                        "metadata": {"exit_code": 1}})}),
        line(5, "event_msg", {"type": "token_count", "info": None, "rate_limits": None}),
        token_count(6, first, first),
        token_count(6, first, first),  # re-emitted, total unchanged: counts nothing
        line(7, "event_msg", {"type": "agent_message", "message": "Two tests fail."}),
        line(10, "turn_context", {"turn_id": f"{thread_id}-t2", "cwd": "/home/ada/app",
                                  "model": "gpt-5.4"}),
        line(11, "event_msg", {"type": "user_message", "message": "Fix them"}),
        "{broken",
        token_count(14, second, second_last),
        token_count(15, second, second_last),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "input": second["input_tokens"],
        "output": second["output_tokens"],
        "cache_read": second["cached_input_tokens"],
        "cache_write": 0,
    }
