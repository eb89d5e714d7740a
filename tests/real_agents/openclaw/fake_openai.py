"""A small OpenAI-compatible chat completions API on loopback (stdlib server, SSE).

OpenClaw sends the whole conversation each time; the turn's prompt is the last user
message that starts with OpenClaw's time stamp. A prompt containing `TOOL` gets an `exec`
tool call first (`echo hello`), then, once a tool result follows the prompt, the final
text; any other prompt gets the final text at once. Every request and the usage reported
for it are kept in `requests`.
"""

from __future__ import annotations

import json
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.real_agents.fake_server import FakeModelServer, data_events, send_sse

USAGE = {"prompt_tokens": 111, "completion_tokens": 22, "total_tokens": 133}
REPLY = "The command printed hello."
COMMAND = "echo hello"
_STAMPED = re.compile(r"^\[\w{3} \d{4}-\d\d-\d\d \d\d:\d\d")


def _turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages from the turn's (stamped) prompt on."""
    starts = [
        index
        for index, message in enumerate(messages)
        if message.get("role") == "user"
        and isinstance(message.get("content"), str)
        and _STAMPED.match(message["content"])
    ]
    return messages[starts[-1] :] if starts else messages


def _delta_for(messages: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    turn = _turn(messages)
    prompt = str(turn[0].get("content", "")) if turn else ""
    if "TOOL" in prompt and not any(message.get("role") == "tool" for message in turn):
        call = {
            "index": 0,
            "id": "call_agentmon_1",
            "type": "function",
            "function": {"name": "exec", "arguments": json.dumps({"command": COMMAND})},
        }
        return {"role": "assistant", "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": REPLY}, "stop"


class FakeChat(FakeModelServer):
    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.answer(handler, body)

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        delta, finish = _delta_for(body.get("messages") or [])
        number = self.record({"path": handler.path, "finish": finish, "usage": dict(USAGE)})
        base: dict[str, Any] = {"id": f"chatcmpl-{number + 1}"}
        base |= {"object": "chat.completion.chunk"}
        base |= {"created": int(time.time()), "model": "fake-model"}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {
                **base,
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                "usage": USAGE,
            },
        ]
        send_sse(handler, [*data_events(chunks), "data: [DONE]\n\n"])
