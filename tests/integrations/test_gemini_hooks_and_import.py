"""A Gemini CLI session reaches the store through the hooks (``agentmon-gemini-handler``)
and through ``agentmon import gemini-cli``, in either order: each run, model call, tool call
and token is stored once.

The session is played as Gemini CLI 0.61 plays it (hook order and transcript lines as the
real CLI writes them, see tests/real_agents/gemini): the chat recording grows while the
hooks fire, the session context is recorded as a ``user`` message in a ``$set``
checkpoint, a reply is re-appended whole once its tool call ran, the tool's answer is
recorded as a ``user`` message of ``functionResponse`` parts, and the same prompt is given
twice (in a resumed session, whose recording starts with a checkpoint of the history)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from integration_helpers import HandlerRunner, QueryClient, agentmon_import, clean_env

MODEL = "gemini-3.8-flash"
TOKENS = {"input": 1000, "output": 20, "cached": 600, "thoughts": 30, "tool": 0, "total": 1050}
PROMPT = "Count the TODOs"


class GeminiSession:
    """One session's chat recording, written as the CLI writes it; hooks fire when given."""

    def __init__(self, home: Path, session_id: str) -> None:
        self.session_id = session_id
        self.path = home / ".gemini" / "tmp" / "app" / "chats" / f"session-{session_id[:8]}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.history: list[dict[str, Any]] = []
        self.clock = 0
        self.hooks: HandlerRunner | None = None

    def at(self) -> str:
        self.clock += 1
        return f"2026-11-20T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def message(self, record: dict[str, Any]) -> None:
        self.write(record)
        self.write({"$set": {"lastUpdated": record["timestamp"]}})
        self.history = [m for m in self.history if m["id"] != record["id"]] + [record]

    def hook(self, name: str, **fields: Any) -> None:
        if self.hooks is None:
            return
        payload = {
            "session_id": self.session_id,
            "transcript_path": str(self.path),
            "cwd": "/home/ada/app",
            "hook_event_name": name,
            "timestamp": self.at(),
            **fields,
        }
        self.hooks("agentmon-gemini-handler", payload)

    def start(self, source: str) -> None:
        """The recording's first lines (a resumed session's repeat the history), then the
        SessionStart hook."""
        self.write(
            {
                "sessionId": self.session_id,
                "projectHash": "app",
                "startTime": self.at(),
                "lastUpdated": self.at(),
                "kind": "main",
            }
        )
        context = {
            "id": f"ctx-{self.session_id[:8]}",
            "timestamp": self.at(),
            "type": "user",
            "content": [{"text": "<session_context>\nThis is the Gemini CLI."}],
        }
        replayed = [copy for message in self.history for copy in checkpointed(message)]
        self.write({"$set": {"messages": [context, *replayed]}})
        self.hook("SessionStart", source=source)

    def model_call(self, text: str, tool: dict[str, Any] | None = None) -> None:
        self.hook("BeforeModel", llm_request={"model": MODEL, "messages": []})
        candidate = {"content": {"parts": [{"text": text}]}, "finishReason": "STOP"}
        usage = {"promptTokenCount": 1000, "candidatesTokenCount": 20, "totalTokenCount": 1050}
        response = {"candidates": [candidate], "usageMetadata": usage, "text": text}
        self.hook("AfterModel", llm_request={"model": MODEL}, llm_response=response)
        reply = {
            "id": str(uuid.uuid4()),
            "timestamp": self.at(),
            "type": "gemini",
            "content": text,
            "thoughts": [],
            "tokens": TOKENS,
            "model": MODEL,
        }
        self.message(reply)
        if tool is None:
            return
        call = {"id": f"run_shell_command_{self.clock}", "name": "run_shell_command"}
        self.hook("BeforeTool", tool_name=call["name"], tool_input=tool)
        self.hook("AfterTool", tool_name=call["name"], tool_input=tool, tool_response=TOOL_OUT)
        answer = {"functionResponse": {**call, "response": {"output": "3"}}}
        done = {**call, "args": tool, "status": "success", "result": [answer]}
        self.message({**reply, "toolCalls": [done]})
        self.message(
            {"id": str(uuid.uuid4()), "timestamp": self.at(), "type": "user", "content": [answer]}
        )

    def turn(self, *, with_tool: bool) -> None:
        self.hook("BeforeAgent", prompt=PROMPT)
        user = {"id": str(uuid.uuid4()), "timestamp": self.at(), "type": "user"}
        self.message({**user, "content": [{"text": PROMPT}]})
        if with_tool:
            self.model_call("Let me look.", {"command": "grep -c TODO a.py"})
        self.model_call("There are 3.")
        self.hook("AfterAgent", prompt=PROMPT, prompt_response="There are 3.")

    def end(self) -> None:
        self.hook("SessionEnd", reason="exit")


TOOL_OUT = {"llmContent": "3", "returnDisplay": "3"}


def checkpointed(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message as a resumed session's checkpoint repeats it (Gemini CLI 0.61): without
    tokens, model or tool calls, a reply's tool answers after it under the reply's id."""
    copy = {key: message[key] for key in ("id", "timestamp", "type", "content")}
    answers = [call["result"][0] for call in message.get("toolCalls", [])]
    return [copy, *([{**copy, "type": "user", "content": answers}] if answers else [])]


def run_import(home: Path, ingest_url: str) -> None:
    env = {**clean_env("AGENTMON_", "GEMINI_"), "HOME": str(home)}
    agentmon_import("gemini-cli", env, "--ingest-url", ingest_url, timeout=60)


def stored(query: QueryClient, session_id: str) -> dict[str, Any]:
    """What the store holds of the session: its runs, spans, tokens and usage events."""
    detail = query.session(session_id)
    runs = [query.run(run["run_id"]) for run in detail["runs"]]
    spans = sorted(
        (span["kind"], span["name"]) for run in runs for span in run["spans"]
    )  # fmt: skip
    return {
        "runs": sorted(run["run"]["input"] for run in runs),
        "spans": spans,
        "total_tokens": detail["session"]["tokens"]["total"],
    }


# Two turns of the same prompt: a tool call between two replies, then one reply.
EXPECTED = {
    "runs": [PROMPT, PROMPT],
    "spans": sorted([("llm", MODEL)] * 3 + [("tool", "run_shell_command")]),
    "total_tokens": 3 * TOKENS["total"],
}


def settle(query: QueryClient, session_id: str) -> dict[str, Any]:
    """The stored session once the store has applied what was sent (and a moment more, so a
    duplicate arriving late would show)."""
    query.wait_for_session(session_id, lambda d: d["session"]["tokens"]["total"] > 0)
    time.sleep(0.5)
    return stored(query, session_id)


def age(path: Path) -> None:
    """Make the recording look finished (the importer ends quiet sessions)."""
    old = time.time() - 7200
    os.utime(path, (old, old))


def test_hooks_then_import_store_each_call_once(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = GeminiSession(tmp_path / "home", str(uuid.uuid4()))
    session.hooks = run_handler
    session.start("startup")
    session.turn(with_tool=True)
    session.end()
    session.start("resume")
    session.turn(with_tool=False)
    session.end()
    query = QueryClient(server.query_url)
    live = settle(query, session.session_id)
    assert live == EXPECTED

    age(session.path)
    run_import(tmp_path / "home", server.ingest_url)
    assert settle(query, session.session_id) == EXPECTED


def test_a_resumed_session_imported_alone_counts_every_reply(server: Any, tmp_path: Path) -> None:
    session = GeminiSession(tmp_path / "home", str(uuid.uuid4()))
    session.start("startup")
    session.turn(with_tool=True)
    session.start("resume")
    session.turn(with_tool=False)
    age(session.path)
    run_import(tmp_path / "home", server.ingest_url)
    assert settle(QueryClient(server.query_url), session.session_id) == EXPECTED


def test_import_then_hooks_store_each_call_once(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = GeminiSession(tmp_path / "home", str(uuid.uuid4()))
    session.start("startup")
    session.turn(with_tool=True)
    session.end()
    run_import(tmp_path / "home", server.ingest_url)
    query = QueryClient(server.query_url)
    imported = settle(query, session.session_id)
    assert imported["runs"] == [PROMPT] and imported["total_tokens"] == 2 * TOKENS["total"]

    session.hooks = run_handler  # installed now: the session is resumed with the hooks on
    session.start("resume")
    session.turn(with_tool=False)
    session.end()
    assert settle(query, session.session_id) == EXPECTED

    age(session.path)
    run_import(tmp_path / "home", server.ingest_url)
    assert settle(query, session.session_id) == EXPECTED
