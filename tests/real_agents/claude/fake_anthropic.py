"""A small Anthropic Messages API on loopback (stdlib http.server, SSE streaming).

It answers by rules on the conversation, so the real Claude Code drives itself through a
scripted session: the latest user text names what the model does next.

- ``RUN <command>``: a ``Bash`` tool call running `<command>`, then, once the tool result
  comes back, the text ``done``;
- ``AGENT <prompt>``: an ``Agent`` (sub-agent) call with `<prompt>` (inside the sub-agent the
  prompt is answered like any other);
- ``FAIL <status>``: an API error with that HTTP status;
- ``TASK <subject>``: a ``TaskCreate`` call, then a ``TaskUpdate`` marking task 1 completed,
  then the text ``done``;
- anything else: the text ``ok``.

Requests without tools (title generation, quota probes) get a short text. Every request is
kept in ``requests`` (path, body) and every streamed response's usage in ``responses``.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.real_agents.fake_server import FakeModelServer, named_events, send_json, send_sse

INPUT_TOKENS = 120
CACHE_READ_TOKENS = 40
OUTPUT_TOKENS = 9


class FakeAnthropic(FakeModelServer):
    def __init__(self) -> None:
        super().__init__()
        self.responses: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return self.root_url

    def on_get(self, handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 404, {"type": "error", "error": {"type": "not_found_error"}})

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if not handler.path.startswith("/v1/messages") or "count_tokens" in handler.path:
            send_json(handler, 200, {"input_tokens": INPUT_TOKENS})
            return
        status, answer = self.reply(body)
        if isinstance(answer, dict):
            send_json(handler, status, answer)
            return
        request_id = {"request-id": f"req_{len(self.requests):04d}"}
        send_sse(handler, named_events(answer), headers=request_id)

    def reply(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]] | dict[str, Any]]:
        """(HTTP status, SSE events or an error body) for one request."""
        number = self.record(body)
        model = str(body.get("model") or "claude-sonnet-4-6")
        last = _last_user_block(body.get("messages") or [])
        if not body.get("tools"):
            return 200, self._message(number, model, [{"type": "text", "text": "Title"}])
        if last.get("type") == "tool_result":
            word, _, rest = _directive(_last_prompt_text(body.get("messages") or []))
            results = _tool_results_since_prompt(body.get("messages") or [])
            if word == "TASK" and results == 1:
                update = _tool_use(number, "TaskUpdate", {"taskId": "1", "status": "completed"})
                return 200, self._message(number, model, [update], stop="tool_use")
            return 200, self._message(number, model, [{"type": "text", "text": "done"}])
        text = str(last.get("text") or "")
        word, _, rest = _directive(text)
        if word == "TASK":
            task = {"subject": rest, "description": f"scripted task: {rest}"}
            return 200, self._message(
                number, model, [_tool_use(number, "TaskCreate", task)], "tool_use"
            )
        if word == "FAIL":
            status = int(rest or 400)
            error = {"type": "invalid_request_error", "message": f"scripted failure {status}"}
            return status, {"type": "error", "error": error}
        if word == "RUN":
            command = {"command": rest, "description": "scripted command"}
            return 200, self._message(
                number, model, [_tool_use(number, "Bash", command)], "tool_use"
            )
        if word == "AGENT":
            agent = {"description": "scripted sub-agent", "prompt": rest}
            agent["subagent_type"] = "general-purpose"
            return 200, self._message(
                number, model, [_tool_use(number, "Agent", agent)], "tool_use"
            )
        return 200, self._message(number, model, [{"type": "text", "text": "ok"}])

    def _message(
        self, number: int, model: str, blocks: list[dict[str, Any]], stop: str = "end_turn"
    ) -> list[dict[str, Any]]:
        usage = {
            "input_tokens": INPUT_TOKENS,
            "cache_read_input_tokens": CACHE_READ_TOKENS,
            "cache_creation_input_tokens": 0,
            "output_tokens": OUTPUT_TOKENS,
        }
        message_id = f"msg_{number:04d}"
        with self.lock:
            self.responses.append({"id": message_id, "model": model, "usage": usage})
        start_usage = {**usage, "output_tokens": 1}
        events: list[dict[str, Any]] = [
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            }
        ]
        for index, block in enumerate(blocks):
            events += _block_events(index, block)
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            }
        )
        events.append({"type": "message_stop"})
        return events


def _tool_use(number: int, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{number:04d}", "name": name, "input": tool_input}


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    start: dict[str, Any]
    if block["type"] == "text":
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    else:
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        {"type": "content_block_delta", "index": index, "delta": delta},
        {"type": "content_block_stop", "index": index},
    ]


def _last_user_block(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The last content block of the last user message (a text block for plain strings)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return {"type": "text", "text": content}
        blocks = [block for block in content or [] if isinstance(block, dict)]
        meaningful = [b for b in blocks if b.get("type") in ("text", "tool_result")]
        texts = [b for b in meaningful if b.get("type") == "tool_result"] or [
            b for b in meaningful if not str(b.get("text", "")).startswith("<system-reminder>")
        ]
        if texts:
            return texts[-1]
    return {}


def _user_texts(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    blocks = [b for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return [str(b.get("text", "")) for b in blocks]


def _last_prompt_text(messages: list[dict[str, Any]]) -> str:
    """The last user text naming a directive (the prompt of the current turn)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        for text in reversed(_user_texts(message)):
            if _directive(text)[0]:
                return text
    return ""


def _tool_results_since_prompt(messages: list[dict[str, Any]]) -> int:
    count = 0
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        if any(_directive(text)[0] for text in _user_texts(message)):
            break
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        count += sum(1 for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result")
    return count


def _directive(text: str) -> tuple[str, str, str]:
    """The first line of `text` starting with a directive word, split; ('', '', '') if none."""
    for line in text.splitlines():
        word, sep, rest = line.strip().partition(" ")
        if word in ("RUN", "AGENT", "FAIL", "TASK"):
            return word, sep, rest.strip()
    return "", "", ""
