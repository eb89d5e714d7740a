"""Gemini CLI history for ``agentmon import``: chat recordings → events.

Files: ``<home>/.gemini/tmp/<project>/chats/session-*.jsonl`` (``$GEMINI_CLI_HOME`` replaces
the home directory), sub-agents in ``chats/<parent session>/<session>.jsonl``. The first line
is the session's metadata; then messages ``{id, timestamp, type, content}``, a message
re-appended whole each time it changes (the last line per id wins); ``{"$set": …}`` patches
the metadata (``$set.messages`` replaces the list: its messages are merged by id, so a call
already made stays counted) and ``{"$rewindTo": id}`` is ignored for the same reason.

Runs are the user's prompts (not the tool answers Gemini CLI also records as ``user``
messages, nor the session context), ``llm`` spans and usage the ``gemini`` messages (their
``tokens``), tool spans their ``toolCalls``; a sub-agent's recording is replayed as an
``agent`` span under the ``invoke_agent`` call naming it (``agentId``), as the hooks record
it, and alone adds nothing. Every id is derived from what the hooks see
too (``_gemini_ids``: the prompt's text, the order of a turn's calls, each reply's id), so
importing again, or importing a session the hooks recorded, adds nothing twice.
Older builds' pretty-printed ``session-*.json`` files are not read (Gemini CLI turns them
into ``.jsonl`` when such a session is resumed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentmon.integrations._gemini_ids import (
    AGENT_TOOL,
    agent_call_kind,
    agent_span_key,
    answer_error,
    call_key,
    end_subagent_span,
    is_cancel_notice,
    is_history_repeat,
    prompt_of,
    subagent_chat_name,
    unrun_call_status,
    usage_event_parts,
)
from agentmon.integrations._history import HistoryReplay, parse_time
from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations._tracker import clip
from agentmon.integrations.claude_history import SessionImport, quiet, read_records

FRAMEWORK = "gemini-cli"

Record = dict[str, Any]


def default_roots(env: dict[str, str]) -> list[Path]:
    """``$GEMINI_CLI_HOME/.gemini``, else ``~/.gemini``."""
    home = env.get("GEMINI_CLI_HOME") or env.get("HOME") or str(Path.home())
    return [Path(home).expanduser() / ".gemini"]


def find_chats(roots: list[Path], since: float | None) -> list[Path]:
    """Every chat recording under ``tmp/*/chats`` (a root may also be a ``chats`` folder)."""
    found: set[Path] = set()
    for root in roots:
        folders = [root] if root.name == "chats" else list(root.glob("tmp/*/chats"))
        folders += [root] if not folders and root.is_dir() else []
        for folder in folders:
            for path in folder.rglob("*.jsonl"):
                if since is None or path.stat().st_mtime >= since:
                    found.add(path)
    return sorted(found)


def latest_messages(records: list[Record]) -> tuple[Record, list[Record]]:
    """The session's metadata (patches applied) and its messages, last version per id, in
    the order each id first appeared. A ``$set.messages`` checkpoint adds only the ids not
    seen before: Gemini CLI 0.61 writes one when a session is resumed, repeating the
    history without tokens, model or tool calls (and a tool's answer under its call's id),
    which must not replace the messages as they were recorded."""
    meta: Record = {}
    messages: dict[str, Record] = {}
    for record in records:
        patch = record.get("$set")
        if isinstance(patch, dict):
            for message in patch.get("messages") or []:
                if _id_of(message) is not None:
                    messages.setdefault(message["id"], message)
            meta.update({k: v for k, v in patch.items() if k != "messages"})
        elif "sessionId" in record and "type" not in record:
            meta.update(record)
        elif "$rewindTo" not in record and _id_of(record) is not None:
            messages[record["id"]] = record
    return meta, list(messages.values())


def _id_of(message: Any) -> str | None:
    identifier = message.get("id") if isinstance(message, dict) else None
    return identifier if isinstance(identifier, str) else None


def import_chat(path: Path, source: dict[str, str]) -> SessionImport | None:
    """The events of one chat recording; a sub-agent's recording whose spawning call is
    in its parent's recording is imported with the parent (as the hooks record it: an
    agent span under that call), so alone it gives nothing."""
    reading = read_records(path)
    meta, messages = latest_messages(reading.records)
    session_id = meta.get("sessionId")
    if not isinstance(session_id, str) or not session_id:
        return None
    parent = path.parent.name if meta.get("kind") == "subagent" else None
    if parent and _spawned_in_parent(path, parent, session_id):
        return SessionImport([], reading.skipped, len(reading.records))
    replay = _Replay(session_id, source, meta, parent, path.parent)
    for message in messages:
        replay.message(message)
    replay.close(ended=quiet(path))
    return SessionImport(replay.tracker.events, reading.skipped, len(reading.records))


def _spawned_in_parent(path: Path, parent: str, agent_id: str) -> bool:
    """Whether a recording of session `parent` (in the ``chats`` folder above `path`)
    has the ``invoke_agent`` call that ran the sub-agent `agent_id`."""
    if subagent_chat_name(parent, agent_id) is None:
        return False
    for candidate in path.parent.parent.glob(f"session-*{parent[:8]}*.jsonl"):
        meta, messages = latest_messages(read_records(candidate).records)
        if meta.get("sessionId") == parent and agent_id in _spawned_agents(messages):
            return True
    return False


def _spawned_agents(messages: list[Record]) -> set[str]:
    """The ids of the sub-agents the ``invoke_agent`` calls of `messages` ran."""
    return {
        str(call.get("agentId"))
        for message in messages
        if message.get("type") == "gemini"
        for call in message.get("toolCalls") or []
        if isinstance(call, dict) and call.get("name") == AGENT_TOOL and call.get("agentId")
    }


def gemini_usage(tokens: Any) -> dict[str, int]:
    """A message's ``tokens`` in agentmon's counters: Gemini's ``input`` includes the cached
    tokens, agentmon's input does not (they are the cache reads)."""
    if not isinstance(tokens, dict):
        return {}
    counts = {k: v for k, v in tokens.items() if isinstance(v, int) and not isinstance(v, bool)}
    cached = counts.get("cached", 0)
    usage = {
        "input_tokens": max(counts.get("input", 0) - cached, 0),
        "output_tokens": counts.get("output", 0),
        "cache_read_tokens": cached,
        "reasoning_tokens": counts.get("thoughts", 0),
        "total_tokens": counts.get("total", 0),
    }
    return {name: value for name, value in usage.items() if value}


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content or None
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str)) or None
    return None


def _call_error(result: Any) -> str | None:
    """The error of a tool call's ``result``: its answer's ``error``, else its text."""
    for part in result if isinstance(result, list) else []:
        found = answer_error(part.get("functionResponse") if isinstance(part, dict) else None)
        if found:
            return found[1]
    return _text(result)


ERROR_KINDS = {"error": "tool", "denied": "permission_denied"}


class _Replay(HistoryReplay):
    """Drives a Tracker through a chat's messages with the keys the hooks derive
    (``_gemini_ids``): a run per prompt, an llm span per reply, a tool span per tool call,
    and a sub-agent's recording (``chats/<session>/<agent id>.jsonl``) replayed under the
    ``invoke_agent`` call that ran it."""

    def __init__(
        self,
        session_id: str,
        source: dict[str, str],
        meta: Record,
        parent: str | None,
        chats: Path,
    ) -> None:
        first = parse_time(meta.get("startTime")) or 0.0
        super().__init__(
            session_id, source, first, None, parent_session_id=parent, kind=meta.get("kind")
        )
        self.chats = chats
        self.prompts: dict[str, int] = {}
        self.ordinals: dict[str, Any] = {}
        self.run_status = "ok"

    def message(self, message: Record, agent: str | None = None) -> None:
        """Replay one message; `agent`: the key of the sub-agent span it belongs to."""
        ts = parse_time(message.get("timestamp"))
        if ts is not None:
            self.tracker.now = ts
        kind, key = message.get("type"), str(message["id"])
        if kind == "user" and agent is None:
            self._prompt(prompt_of(message.get("content")))
        elif kind == "gemini" and not is_history_repeat(message):
            self._model_call(key, message, agent)
        elif is_cancel_notice(message) and agent is None:
            self.run_status = "cancelled"
        elif kind == "error":
            self.tracker.error(
                _text(message.get("content")) or "error",
                kind="gemini",
                event_id=self.tracker.event_id_for(key, "error"),
            )

    def _prompt(self, prompt: str | None) -> None:
        if prompt is None:
            return
        if self.tracker.state.get("run"):
            self.end_run()
        key = prompt_run_key(self.prompts, prompt)
        self.tracker.start_run(self.tracker.span_id_for(key), input=clip(prompt))
        self.last_text = None

    def end_run(self) -> None:
        """End the open run: ok, or cancelled when the user cancelled it."""
        self.tracker.end_run(status=self.run_status, output=clip(self.last_text))
        self.run_status = "ok"

    def _run_for(self, message_id: str) -> str:
        """The open run; a reply before any prompt gets one named after itself."""
        run_id = self.tracker.run_id
        if run_id is None:
            run_id = self.tracker.start_run(
                self.tracker.span_id_for(f"run:before-prompt:{message_id}"), synthetic=True
            )
        return run_id

    def _model_call(self, key: str, message: Record, agent: str | None) -> None:
        model = message.get("model") if isinstance(message.get("model"), str) else None
        usage = gemini_usage(message.get("tokens"))
        if agent is None:
            self.last_text = _text(message.get("content")) or self.last_text
        run_id = self._run_for(key)
        span = call_key(self.ordinals, run_id, agent_call_kind(agent, "llm"))
        self.tracker.start_span(
            span, kind="llm", name=model, parent_key=agent, once=True, model=model
        )
        span_id = self.tracker.end_span(
            span, kind="llm", name=model, once=True, model=model, usage=usage or None
        )
        self.tracker.usage(
            usage,
            model=model,
            span_id=span_id,
            event_id=self.tracker.event_id_for(*usage_event_parts(key)),
        )
        for call in message.get("toolCalls") or []:
            if isinstance(call, dict) and call.get("id"):
                self._tool_call(run_id, call, agent)

    def _tool_call(self, run_id: str, call: Record, agent: str | None) -> None:
        name = str(call.get("name") or "tool")
        key = call_key(self.ordinals, run_id, agent_call_kind(agent, f"tool:{name}"))
        at = parse_time(call.get("timestamp"))
        self.tracker.start_span(
            key,
            kind="tool",
            name=name,
            parent_key=agent,
            once=True,
            ts=at,
            input=clip(call.get("args")),
        )
        if name == AGENT_TOOL:
            self._subagent(key, call)
        status = {"success": "ok", "error": "error", "cancelled": "cancelled"}.get(
            str(call.get("status")), "unknown"
        )
        failed = status in ("error", "cancelled")  # a call the user refused is cancelled
        error = clip(_call_error(call.get("result"))) if failed else None
        status = (unrun_call_status(error) if error else None) or status
        span_id = self.tracker.end_span(
            key,
            kind="tool",
            name=name,
            once=True,
            status=status,
            output=clip(call.get("result")),
            error=error,
        )
        if status in ERROR_KINDS:
            self.tracker.error(
                str(error or "tool failed"),
                kind=ERROR_KINDS[status],
                span_id=span_id,
                tool_name=name,
                event_id=self.tracker.event_id_for(span_id, "error"),
            )

    def _subagent(self, tool_key: str, call: Record) -> None:
        """The sub-agent an ``invoke_agent`` call ran, from its own recording: an agent
        span under the call, the sub-agent's calls and usage inside it."""
        agent_id = call.get("agentId")
        name = subagent_chat_name(self.tracker.session_id, agent_id)
        path = self.chats / name if name else None
        if path is None or not path.is_file():
            return
        args = call.get("args")
        agent_name = args.get("agent_name") if isinstance(args, dict) else None
        key = agent_span_key(tool_key)
        self.tracker.start_span(
            key, kind="agent", name=str(agent_name or "subagent"), parent_key=tool_key, once=True
        )
        for message in latest_messages(read_records(path).records)[1]:
            self.message(message, key)
        end_subagent_span(self.tracker, key, call.get("resultDisplay"), agent_id)
