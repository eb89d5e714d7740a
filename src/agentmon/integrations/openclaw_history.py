"""OpenClaw history for ``agentmon import``: session transcripts → events.

Files: ``<state>/agents/<agentId>/sessions/<sessionId>.jsonl`` (also archived as
``.jsonl.deleted.<ms>`` and ``.jsonl.reset.<time>``), where ``<state>`` is
``$OPENCLAW_STATE_DIR``, else ``$OPENCLAW_HOME/.openclaw``, else ``~/.openclaw``. The first line
is ``{"type": "session", "id", "timestamp", "cwd"}``; then entries with their own ``id``:
``message`` (roles ``user``, ``assistant`` with ``toolCall`` blocks and ``usage``,
``toolResult``), ``compaction`` and ``model_change``.

OpenClaw 2026.9 keeps the same entries in SQLite instead (``importer/openclaw_db.py`` reads
them and hands them to `replay_records`).

Runs are the user's messages, ``llm`` spans and usage the assistant messages (``usage``, and
``usage.cost.total`` as the reported cost when OpenClaw priced it), tool spans the
``toolCall`` blocks closed by their ``toolResult``. Ids are derived from what the entries
share with agentmon's OpenClaw plugin (hooks/openclaw/lib/plugin-mapping.ts), so an archived
copy, a second import or a session the plugin already reported adds nothing: a run is
OpenClaw's ``runId`` (which the run's messages carry as ``__openclaw.runId``), a model call
its place in the run (the plugin's ``<runId>:model:<n>`` call id), a tool call its
``toolCallId`` and a reply's tokens the reply's ``responseId`` (else its time stamp). Entries
without a ``runId`` (older OpenClaw) fall back to their own entry ids.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agentmon.client.usage import known_usage
from agentmon.integrations._history import HistoryReplay, parse_time
from agentmon.integrations._tracker import clip
from agentmon.integrations.claude_history import SessionImport, quiet, read_records

FRAMEWORK = "openclaw"

Record = dict[str, Any]


def default_roots(env: dict[str, str]) -> list[Path]:
    if env.get("OPENCLAW_STATE_DIR"):
        return [Path(env["OPENCLAW_STATE_DIR"]).expanduser()]
    home = env.get("OPENCLAW_HOME") or env.get("HOME") or str(Path.home())
    return [Path(home).expanduser() / ".openclaw"]


def find_transcripts(roots: list[Path], since: float | None) -> list[Path]:
    """Transcripts (live and archived) under ``agents/*/sessions`` of each root."""
    found: set[Path] = set()
    for root in roots:
        folders = list(root.glob("agents/*/sessions")) or [root]
        for folder in folders:
            for path in folder.glob("*.jsonl*"):
                if not path.is_file() or (since is not None and path.stat().st_mtime < since):
                    continue
                found.add(path)
    return sorted(found)


def import_transcript(path: Path, source: dict[str, str]) -> SessionImport | None:
    reading = read_records(path)
    return replay_records(reading.records, reading.skipped, source, ended=quiet(path))


def replay_records(
    records: list[Record],
    skipped: dict[str, int],
    source: dict[str, str],
    *,
    ended: bool,
    parent_session_id: str | None = None,
) -> SessionImport | None:
    """The events of one session's entries (header first); None without a session header.
    `parent_session_id`: the session that spawned this one (a sub-agent's), when known."""
    header = next((r for r in records if r.get("type") == "session"), None)
    if header is None or not isinstance(header.get("id"), str):
        return None
    replay = _Replay(header, source, _run_ids(records), parent_session_id)
    seen: set[str] = set()
    for entry in records:
        key = entry.get("id")
        if entry is header or not isinstance(key, str) or key in seen:
            continue
        seen.add(key)
        replay.entry(key, entry)
    replay.close(ended=ended)
    return SessionImport(replay.tracker.events, skipped, len(records))


def _run_id_of(entry: Record) -> str | None:
    """The ``runId`` OpenClaw stamps on a run's messages (and its bootstrap entry)."""
    message = entry.get("message")
    meta = message.get("__openclaw") if isinstance(message, dict) else None
    if not isinstance(meta, dict):
        data = entry.get("data")
        meta = data if entry.get("type") == "custom" and isinstance(data, dict) else None
    run_id = meta.get("runId") if isinstance(meta, dict) else None
    return run_id if isinstance(run_id, str) and run_id else None


def _is_prompt(entry: Record) -> bool:
    message = entry.get("message")
    return (
        entry.get("type") == "message"
        and isinstance(message, dict)
        and message.get("role") == "user"
    )


def _run_ids(records: list[Record]) -> dict[str, str]:
    """Each prompt's entry id → the ``runId`` of the first entry after it that names one
    (before the next prompt)."""
    found: dict[str, str] = {}
    prompt: str | None = None
    for entry in records:
        if _is_prompt(entry):
            key = entry.get("id")
            prompt = key if isinstance(key, str) else None
        elif prompt is not None and (run_id := _run_id_of(entry)) is not None:
            found[prompt], prompt = run_id, None
    return found


def reply_key(message: Record) -> str | None:
    """What names a reply on both sides: its ``responseId``, else its time stamp (ms)."""
    response = message.get("responseId")
    if isinstance(response, str) and response:
        return response
    at = message.get("timestamp")
    return f"at:{at}" if isinstance(at, int | float) and not isinstance(at, bool) else None


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content or None
    if isinstance(content, list):
        parts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str)) or None
    return None


def _failure(message: Record) -> str | None:
    """A failed call's error as the plugin words it: ``errorMessage (errorCode)``."""
    if message.get("stopReason") != "error":
        return None
    text = message.get("errorMessage")
    code = message.get("errorCode")
    words = str(text) if isinstance(text, str) and text else "model call failed"
    return f"{words} ({code})" if isinstance(code, str) and code else words


_EXEC_DENIED = re.compile(r"^exec denied\b", re.IGNORECASE)


def _tool_outcome(message: Record, output: str | None) -> tuple[str, str | None]:
    """A tool result's status and error as the plugin words them (``toolOutcome``):
    ``denied`` when OpenClaw refused the call (an exec policy's "exec denied: …", a human's or
    an expired approval's "Exec denied (…)", a plugin's block: ``details.status`` "blocked"),
    ``error`` when it failed or exec exited non-zero."""
    details = message.get("details")
    details = details if isinstance(details, dict) else {}
    reason = details.get("reason") or details.get("deniedReason")
    if details.get("status") == "blocked":
        return "denied", str(reason) if reason else "tool call blocked"
    error = details.get("error")
    if error is None and details.get("status") == "failed" and details.get("exitCode", 0) is None:
        # a human's (or an expired approval's) refusal: a result that never ran,
        # "Exec denied (gateway id=…, user-denied): <command>"
        error = details.get("aggregated")
    if isinstance(error, str) and _EXEC_DENIED.match(error):
        return "denied", error
    if message.get("isError") is True:
        return "error", output or "tool failed"
    code = details.get("exitCode")
    if isinstance(code, int | float) and not isinstance(code, bool) and code != 0:
        aggregated = details.get("aggregated")
        shown = f": {aggregated[:500]}" if isinstance(aggregated, str) and aggregated else ""
        return "error", f"exit code {code:g}{shown}"
    return "ok", None


def _reported_cost(usage: Any) -> float | None:
    """``usage.cost.total`` when OpenClaw priced the call; a total of 0 is a model it has no
    price for (a custom provider), not a free call: left for agentmon to estimate."""
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = cost.get("total") if isinstance(cost, dict) else None
    if not isinstance(total, int | float) or isinstance(total, bool) or total <= 0:
        return None
    return float(total)


class _Replay(HistoryReplay):
    def __init__(
        self,
        header: Record,
        source: dict[str, str],
        run_ids: dict[str, str],
        parent_session_id: str | None,
    ) -> None:
        first = parse_time(header.get("timestamp")) or 0.0
        cwd = header.get("cwd") if isinstance(header.get("cwd"), str) else None
        parent = {"parent_session_id": parent_session_id} if parent_session_id else {}
        super().__init__(
            str(header["id"]), source, first, cwd, version=header.get("version"), **parent
        )
        self.model: str | None = None
        self.provider: str | None = None
        self.run_ids = run_ids
        self.model_calls = 0  # the open run's, as the plugin's call ids count them

    def entry(self, key: str, entry: Record) -> None:
        ts = parse_time(entry.get("timestamp"))
        if ts is not None:
            self.tracker.now = ts
        kind = entry.get("type")
        if kind == "model_change":
            self.model = entry.get("modelId") or self.model
            self.provider = entry.get("provider") or self.provider
        elif kind == "compaction":
            self.compaction(key, tokens_before=entry.get("tokensBefore"))
        elif kind == "message" and isinstance(entry.get("message"), dict):
            self._message(key, entry["message"])

    def _message(self, key: str, message: Record) -> None:
        role = message.get("role")
        if role == "user":
            run_id = self.run_ids.get(key) or self.tracker.span_id_for(f"run:{key}")
            if run_id == self.tracker.run_id:
                return  # a message steered into the open run: the same run goes on
            self._begin_run(run_id, input=clip(_text(message.get("content"))))
        elif role == "assistant":
            self._open_reply_run(message)
            self._assistant(key, message)
        elif role == "toolResult" and message.get("toolCallId"):
            self._tool_result(message)

    def _open_reply_run(self, message: Record) -> None:
        """A reply of a run no user message opened starts that run: OpenClaw announces a
        sub-agent's result to its parent in a run of its own (``announce:v1:…``) whose
        prompt the transcript does not keep."""
        meta = message.get("__openclaw")
        run_id = meta.get("runId") if isinstance(meta, dict) else None
        if isinstance(run_id, str) and run_id and run_id != self.tracker.run_id:
            self._begin_run(run_id)

    def _begin_run(self, run_id: str, **start: Any) -> None:
        """End the open run (if any) and open `run_id`."""
        if self.tracker.state.get("run"):
            self.end_run()
        self.tracker.start_run(run_id, **start)
        self.last_text = None
        self.model_calls = 0

    def _assistant(self, key: str, message: Record) -> None:
        model = message.get("model") if isinstance(message.get("model"), str) else self.model
        provider = message.get("provider") or self.provider
        usage = known_usage(message.get("usage"))
        reported = _reported_cost(message.get("usage"))
        self.last_text = _text(message.get("content")) or self.last_text
        span = self._call_key(key, message)
        details: dict[str, Any] = {
            "model": model,
            "provider": provider,
            "stop_reason": message.get("stopReason"),
        }
        failure = _failure(message)
        self.tracker.start_span(span, kind="llm", name=model, once=True, **details)
        span_id = self.tracker.end_span(
            span,
            kind="llm",
            name=model,
            once=True,
            usage=usage or None,
            status="error" if failure else "ok",
            error=failure,
            **details,
        )
        if failure:
            self.run_error = failure
            self.tracker.error(
                failure,
                kind="llm",
                span_id=span_id,
                event_id=self.tracker.event_id_for(span_id, "error"),
            )
        self.tracker.usage(
            usage,
            model=model,
            provider=provider,
            cost_usd=reported,
            event_id=self.tracker.event_id_for("usage", reply_key(message) or span_id),
        )
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "toolCall" and block.get("id"):
                self.tracker.start_span(
                    f"tool:{block['id']}",
                    kind="tool",
                    name=str(block.get("name") or "tool"),
                    once=True,
                    input=clip(block.get("arguments")),
                )

    def _call_key(self, key: str, message: Record) -> str:
        """The span key of a model call: ``llm:<runId>:model:<n>`` (the plugin's call id) in
        a run OpenClaw named, else the entry's own id."""
        meta = message.get("__openclaw")
        run_id = meta.get("runId") if isinstance(meta, dict) else None
        if not isinstance(run_id, str) or run_id != self.tracker.run_id:
            return f"llm:{key}"
        self.model_calls += 1
        return f"llm:{run_id}:model:{self.model_calls}"

    def _tool_result(self, message: Record) -> None:
        key = f"tool:{message['toolCallId']}"
        output = _text(message.get("content"))
        status, error = _tool_outcome(message, output)
        name = str(message.get("toolName") or "tool")
        span_id = self.tracker.end_span(
            key,
            kind="tool",
            name=name,
            once=True,
            status=status,
            output=clip(output),
            error=clip(error),
        )
        if error is not None:
            self.tracker.error(
                error,
                kind="permission_denied" if status == "denied" else "tool",
                span_id=span_id,
                tool_name=name,
                event_id=self.tracker.event_id_for(span_id, "error"),
            )
