"""A small OpenAI-compatible chat completions API on loopback (stdlib server, SSE).

OpenClaw sends the whole conversation each time; the turn's prompt is the last user
message that starts with OpenClaw's time stamp. A prompt containing `TOOL` gets an `exec`
tool call first (`echo hello`; `FAILING_COMMAND`, which exits 2, when the prompt also says
`FAIL`), then, once a tool result follows the prompt, the final text; a prompt containing
`ASK` gets an `ask_user` call asking `QUESTION` (no one answers: OpenClaw gives up after
`QUESTION_TIMEOUT_S`), then the final text; a prompt containing `SPAWN` gets a
`sessions_spawn` call whose task is `CHILD_TASK`, then the final text. The
spawned child's model calls are told by their messages (`is_child`): the child answers
`CHILD_REPLY` at once.
Any other prompt gets the final text at once. Every request (`role`: parent or child), the
usage reported for it and the tool results it carried are kept in `requests`.
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
FAILING_COMMAND = "ls /agentmon-no-such-dir"
QUESTION = "Which color do you want?"
# the shortest wait OpenClaw allows a question (it clamps timeoutSeconds to 30-3600)
QUESTION_TIMEOUT_S = 30
CHILD_TASK = "AGENTMON-CHILD-TASK: answer with one word"
CHILD_REPLY = "The child says hello."
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


def is_child(messages: list[dict[str, Any]]) -> bool:
    """A spawned child's call: OpenClaw hands the child its task in a user message under
    `[Subagent Task]` (the parent has it only in the tool call's arguments, and in the
    completion announced back to it, which has no such heading)."""
    return any(
        message.get("role") == "user"
        and "[Subagent Task]" in (text := json.dumps(message.get("content")))
        and CHILD_TASK in text
        for message in messages
    )


def _tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    call = {"index": 0, "id": call_id, "type": "function"}
    return {**call, "function": {"name": name, "arguments": json.dumps(arguments)}}


def _delta_for(messages: list[dict[str, Any]], call_id: str) -> tuple[dict[str, Any], str]:
    if is_child(messages):
        return {"role": "assistant", "content": CHILD_REPLY}, "stop"
    turn = _turn(messages)
    prompt = str(turn[0].get("content", "")) if turn else ""
    called = any(message.get("role") == "tool" for message in turn)
    if "TOOL" in prompt and not called:
        command = FAILING_COMMAND if "FAIL" in prompt else COMMAND
        call = _tool_call(call_id, "exec", {"command": command})
        return {"role": "assistant", "tool_calls": [call]}, "tool_calls"
    if "ASK" in prompt and not called:
        options = [{"label": "red"}, {"label": "blue"}]
        question = {"id": "color", "header": "Color", "question": QUESTION, "options": options}
        arguments = {"questions": [question], "timeoutSeconds": QUESTION_TIMEOUT_S}
        call = _tool_call(call_id, "ask_user", arguments)
        return {"role": "assistant", "tool_calls": [call]}, "tool_calls"
    if "SPAWN" in prompt and not called:
        call = _tool_call(call_id, "sessions_spawn", {"task": CHILD_TASK, "label": "helper"})
        return {"role": "assistant", "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": REPLY}, "stop"


class FakeChat(FakeModelServer):
    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.answer(handler, body)

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        with self.lock:  # each tool call its own id, as a real model's
            call_id = f"call_agentmon_{len(self.requests) + 1}"
        delta, finish = _delta_for(messages, call_id)
        results = [m.get("content") for m in _turn(messages) if m.get("role") == "tool"]
        entry = {"path": handler.path, "finish": finish, "usage": dict(USAGE)}
        entry["role"] = "child" if is_child(messages) else "parent"
        number = self.record({**entry, "tool_results": results})
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
