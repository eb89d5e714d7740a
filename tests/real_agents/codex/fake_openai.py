"""A small OpenAI Responses API on loopback (stdlib http.server, SSE streaming).

It answers by rules on the conversation, so the real Codex CLI drives itself through a
scripted session: the latest user text names what the model does next.

- ``RUN <command>``: a call of the shell tool the request offers (``exec_command`` or
  ``shell``) running `<command>`, then, once its output comes back, the text ``done``;
- ``ESCALATE <command>``: the same call asking to run outside the sandbox
  (``sandbox_permissions: require_escalated``), which needs the user's approval;
- ``FAIL <status>``: an HTTP error with that status;
- ``SPAWN <task>``: a ``spawn_agent`` call (Codex's ``multi_agent_v1`` tools) starting a
  sub-agent on `<task>` (its own conversation, driven by the same rules), then a
  ``wait_agent`` call on it, then ``done``;
- anything else: the text ``ok``.

Every request body is kept in ``requests`` and every response's id and usage in ``responses``.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.real_agents.fake_server import FakeModelServer, named_events, send_json, send_sse

INPUT_TOKENS = 200
CACHED_TOKENS = 50
OUTPUT_TOKENS = 12
REASONING_TOKENS = 3


class FakeOpenAI(FakeModelServer):
    def __init__(self) -> None:
        super().__init__()
        self.responses: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"{self.root_url}/v1"

    def on_get(self, handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 200, {"object": "list", "data": [], "models": []})

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if not handler.path.rstrip("/").endswith("/responses"):
            send_json(handler, 404, {"error": {"message": f"no route {handler.path}"}})
            return
        status, answer = self.reply(body)
        if isinstance(answer, dict):
            send_json(handler, status, answer)
            return
        send_sse(handler, named_events(answer))

    def reply(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]] | dict[str, Any]]:
        """(HTTP status, SSE events or an error body) for one request."""
        number = self.record(body)
        items = [item for item in body.get("input") or [] if isinstance(item, dict)]
        last = items[-1] if items else {}
        if last.get("type") == "function_call_output":
            agent_id = _spawned_agent(items, last)
            if agent_id:
                return 200, self._response(number, body, [_wait_call(number, agent_id)])
            return 200, self._response(number, body, [_message("done")])
        if _waited_since_prompt(items):  # the sub-agent's notification after wait_agent
            return 200, self._response(number, body, [_message("done")])
        word, rest = _directive(_user_text(items))
        if word == "FAIL":
            status = int(rest or 400)
            error = {"message": f"scripted failure {status}", "type": "invalid_request_error"}
            return status, {"error": error}
        if word == "SPAWN":
            return 200, self._response(number, body, [_spawn_call(number, rest)])
        if word in ("RUN", "ESCALATE"):
            call = _shell_call(number, body, rest, escalate=word == "ESCALATE")
            return 200, self._response(number, body, [call])
        return 200, self._response(number, body, [_message("ok")])

    def _response(
        self, number: int, body: dict[str, Any], output: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        response_id = f"resp_{number:04d}"
        usage = {
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        }
        model = str(body.get("model") or "gpt-5")
        with self.lock:
            self.responses.append({"id": response_id, "model": model, "usage": usage})
        base = {"id": response_id, "object": "response", "model": model, "status": "in_progress"}
        events: list[dict[str, Any]] = [{"type": "response.created", "response": {**base}}]
        for index, item in enumerate(output):
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": item}
            )
            events.append(
                {"type": "response.output_item.done", "output_index": index, "item": item}
            )
        done = {**base, "status": "completed", "output": output, "usage": usage}
        events.append({"type": "response.completed", "response": done})
        return events


def _message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_" + text,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _shell_call(
    number: int, body: dict[str, Any], command: str, *, escalate: bool = False
) -> dict[str, Any]:
    names = {str(tool.get("name")) for tool in body.get("tools") or [] if isinstance(tool, dict)}
    arguments: dict[str, Any]
    if "exec_command" in names:
        name, arguments = "exec_command", {"cmd": command}
    else:
        name, arguments = "shell", {"command": ["bash", "-lc", command]}
    if escalate:
        arguments |= {"sandbox_permissions": "require_escalated", "justification": "scripted"}
    return {
        "type": "function_call",
        "id": f"fc_{number:04d}",
        "call_id": f"call_{number:04d}",
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def _agent_call(number: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{number:04d}",
        "call_id": f"call_{number:04d}",
        "name": name,
        "namespace": "multi_agent_v1",
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def _spawn_call(number: int, task: str) -> dict[str, Any]:
    return _agent_call(number, "spawn_agent", {"message": task})


def _wait_call(number: int, agent_id: str) -> dict[str, Any]:
    return _agent_call(number, "wait_agent", {"targets": [agent_id], "timeout_ms": 60000})


def _spawned_agent(items: list[dict[str, Any]], output: dict[str, Any]) -> str | None:
    """The agent id a ``spawn_agent`` call's output names (``{"agent_id": …}``), if `output`
    answers such a call."""
    calls = {
        item.get("call_id"): item.get("name")
        for item in items
        if item.get("type") == "function_call"
    }
    if calls.get(output.get("call_id")) != "spawn_agent":
        return None
    try:
        answer = json.loads(str(output.get("output")))
    except ValueError:
        return None
    agent_id = answer.get("agent_id") if isinstance(answer, dict) else None
    return str(agent_id) if agent_id else None


def _waited_since_prompt(items: list[dict[str, Any]]) -> bool:
    """Whether a ``wait_agent`` call was answered after the latest prompt."""
    names: dict[Any, Any] = {}
    waited = False
    for item in items:
        if item.get("type") == "function_call":
            names[item.get("call_id")] = item.get("name")
        elif item.get("type") == "function_call_output":
            waited = waited or names.get(item.get("call_id")) == "wait_agent"
        elif item.get("role") == "user" and _user_text([item]):
            waited = False
    return waited


def _user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("role") != "user":
            continue
        for part in reversed(item.get("content") or []):
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str) and not text.lstrip().startswith("<"):
                return text
    return ""


def _directive(text: str) -> tuple[str, str]:
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in ("RUN", "ESCALATE", "FAIL", "SPAWN"):
            return word, rest.strip()
    return "", ""
