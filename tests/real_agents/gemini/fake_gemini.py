"""A small Gemini API on loopback (stdlib HTTP server, SSE streaming) that scripts replies.

What it answers depends on the prompt of the conversation: a prompt containing a key of
`SCRIPTS` plays that script, one model reply per request (a reply is a list of chunks, each
a list of parts); requests asking for JSON (the CLI's model router) get a routing answer.
`API_ERROR` in the prompt gets HTTP 400. The CLI's chat compression (its requests ask for a
`<state_snapshot>`) gets a snapshot. In a conversation mentioning `SIZED` the prompt tokens
are the request's size (a quarter of its JSON's characters), so a compressed history shows
in them. Every request is kept in `requests`, with the usage the fake reported, so tests
can compare agentmon's figures with what was served.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.real_agents.fake_server import FakeModelServer, data_events, send_json, send_sse

Part = dict[str, Any]
Reply = list[list[Part]]  # chunks of parts

# prompt tokens, candidate tokens, cached tokens, thought tokens of every main-model reply
USAGE = {"prompt": 1000, "candidates": 20, "cached": 600, "thoughts": 30}
ROUTER_USAGE = {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 60}


def call(name: str, args: dict[str, Any]) -> Part:
    return {"functionCall": {"name": name, "args": args}}


def shell(command: str) -> Part:
    return call("run_shell_command", {"command": command})


SCRIPTS: dict[str, list[Reply]] = {
    "TOOL_OK": [
        [[{"text": "Let me look. "}], [shell("echo hello-from-tool")]],
        [[{"text": "The tool said "}], [{"text": "hello."}]],
    ],
    "TOOL_FAIL": [
        [[shell("ls /nonexistent-agentmon-dir")]],
        [[{"text": "That directory does not exist."}]],
    ],
    # the policy of test_gemini_denied refuses the first call, the second needs an approval
    # headless mode cannot ask for, the third runs
    "TOOL_DENIED": [
        [[shell("rm -rf ./agentmon-keep")]],
        [[shell("touch ./agentmon-denied")]],
        [[shell("echo allowed-by-policy")]],
        [[{"text": "Two calls were refused."}]],
    ],
    # the main agent delegates to the built-in `generalist` sub-agent, which runs a command
    # and hands in its result with `complete_task`
    "SUBAGENT": [
        [[call("invoke_agent", {"agent_name": "generalist", "prompt": "SUBTASK say hi"})]],
        [[{"text": "The sub-agent said hi."}]],
    ],
    "SUBTASK": [
        [[shell("echo from-subagent")]],
        [[call("complete_task", {"result": {"response": "hi from the sub-agent"}})]],
    ],
    # test_gemini_tui: commands the TUI asks the user to allow (`echo` it would run unasked)
    "ASK_RUN": [[[shell("touch ./approved.txt")]], [[{"text": "Ran it."}]]],
    "ASK_DENY": [[[shell("touch ./refused.txt")]], [[{"text": "Never shown."}]]],
    "PLAIN": [[[{"text": "Just text."}]]],
}
API_ERROR = "API_ERROR"
SIZED = "SIZED"
SNAPSHOT_ASKED = "<state_snapshot>"
SNAPSHOT = "<state_snapshot>the user ran a tool that said hello</state_snapshot>"


def _prompt_of(body: dict[str, Any]) -> str:
    texts = [
        part.get("text", "")
        for content in body.get("contents", [])
        if content.get("role") == "user"
        for part in content.get("parts", [])
    ]
    return "\n".join(text for text in texts if isinstance(text, str))


def _replies_so_far(body: dict[str, Any]) -> int:
    """Model replies since the last user prompt (a function response does not count as one)."""
    count = 0
    for content in reversed(body.get("contents", [])):
        parts = content.get("parts", [])
        if content.get("role") == "user" and not any("functionResponse" in p for p in parts):
            break
        if content.get("role") == "model":
            count += 1
    return count


def _last_prompt(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents", [])):
        if content.get("role") != "user":
            continue
        texts = [p["text"] for p in content.get("parts", []) if isinstance(p.get("text"), str)]
        if texts:
            return "\n".join(texts)
    return _prompt_of(body)


def usage_metadata(last: bool, usage: dict[str, int] = USAGE) -> dict[str, int]:
    if not last:
        return {"promptTokenCount": usage["prompt"], "totalTokenCount": usage["prompt"]}
    return {
        "promptTokenCount": usage["prompt"],
        "candidatesTokenCount": usage["candidates"],
        "cachedContentTokenCount": usage["cached"],
        "thoughtsTokenCount": usage["thoughts"],
        "totalTokenCount": usage["prompt"] + usage["candidates"] + usage["thoughts"],
    }


def usage_of(body: dict[str, Any]) -> dict[str, int]:
    """The usage of a main-model reply: `USAGE`, or in a `SIZED` conversation with the
    request's size as its prompt tokens."""
    if SIZED not in _prompt_of(body):
        return dict(USAGE)
    return {**USAGE, "prompt": len(json.dumps(body.get("contents", []))) // 4, "cached": 0}


class FakeGemini(FakeModelServer):
    @property
    def url(self) -> str:
        return self.root_url

    def on_post(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.answer(handler, body)

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        config = body.get("generationConfig") or {}
        record: dict[str, Any] = {"path": handler.path, "body": body}
        self.record(record)
        if config.get("responseMimeType") == "application/json":
            record["kind"] = "router"
            text = json.dumps({"complexity_reasoning": "simple", "complexity_score": 5})
            chunks = [[{"text": text}]]
            return self._send(handler, chunks, lambda last: ROUTER_USAGE, "router")
        prompt = _last_prompt(body)
        if SNAPSHOT_ASKED in prompt:
            record["kind"] = "compress"
            return self._send(
                handler, [[{"text": SNAPSHOT}]], lambda last: ROUTER_USAGE, "compress"
            )
        if API_ERROR in prompt:
            record["kind"] = "error"
            error = {
                "error": {
                    "code": 400,
                    "message": "fake: invalid argument",
                    "status": "INVALID_ARGUMENT",
                }
            }
            send_json(handler, 400, error)
            return None
        script = next((s for key, s in SCRIPTS.items() if key in prompt), SCRIPTS["PLAIN"])
        step = min(_replies_so_far(body), len(script) - 1)
        record["kind"] = "main"
        usage = record["usage"] = usage_of(body)
        return self._send(
            handler,
            script[step],
            lambda last: usage_metadata(last, usage),
            f"resp-{len(self.requests)}",
        )

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        chunks: Reply,
        usage_for: Callable[[bool], dict[str, int]],
        response_id: str,
    ) -> None:
        bodies: list[dict[str, Any]] = []
        for index, parts in enumerate(chunks):
            last = index == len(chunks) - 1
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            if last:
                candidate["finishReason"] = "STOP"
            bodies.append(
                {
                    "candidates": [candidate],
                    "usageMetadata": usage_for(last),
                    "modelVersion": "fake-model",
                    "responseId": response_id,
                }
            )
        if "alt=sse" in handler.path:
            send_sse(handler, data_events(bodies, end="\r\n\r\n"))
            return
        merged = {**bodies[-1]}
        merged["candidates"] = [
            {
                **bodies[-1]["candidates"][0],
                "content": {"role": "model", "parts": [p for c in chunks for p in c]},
            }
        ]
        send_json(handler, 200, merged)
