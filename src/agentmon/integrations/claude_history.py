"""Claude Code history for ``agentmon import``: ``projects/<cwd>/<session>.jsonl`` (and
its sub-agent files) → events.

Each session file is replayed through the same ``Tracker`` and the same hook mappings the
live handler uses, with the transcript's own times, so every id (session, run from the
prompt, tool span from ``tool_use_id``, llm span from ``message.id:requestId``, and the
events of each) is the one the hooks derive: importing twice, or importing a session the
hooks recorded live, adds nothing the store keeps twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._claude_transcript import (
    CallFolder,
    compaction,
    emit_call,
    prompt_text,
    tool_results,
)
from agentmon.integrations._history import HistoryReplay, parse_time
from agentmon.integrations._jsonl import parse_line
from agentmon.integrations._tracker import clip

FRAMEWORK = "claude-code"
QUIET_SECONDS = 3600  # a file untouched this long is a session that ended

Record = dict[str, Any]


def default_roots(env: dict[str, str]) -> list[Path]:
    """``$CLAUDE_CONFIG_DIR`` (comma-separated), else ``~/.claude`` and ``~/.config/claude``."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return [Path(part).expanduser() for part in configured.split(",") if part.strip()]
    home = Path(env.get("HOME") or Path.home())
    return [home / ".claude", home / ".config" / "claude"]


@dataclass
class SessionFiles:
    """One session: its main transcript and its sub-agents' transcripts."""

    main: Path
    subagents: list[Path] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.main, *self.subagents]

    def __str__(self) -> str:
        return str(self.main)


def find_sessions(roots: list[Path], since: float | None) -> list[SessionFiles]:
    """The session files under each root's ``projects/`` (or the root itself when it is one),
    skipping those last written before `since`."""
    sessions: list[SessionFiles] = []
    for root in roots:
        projects = root / "projects" if (root / "projects").is_dir() else root
        if not projects.is_dir():
            continue
        for main in sorted(projects.glob("*/*.jsonl")):
            if main.name.startswith("agent-"):
                continue  # 2.0.x sub-agent files sit beside the sessions: found below
            if since is not None and main.stat().st_mtime < since:
                continue
            sessions.append(SessionFiles(main, _subagent_files(main)))
    return sessions


def _subagent_files(main: Path) -> list[Path]:
    nested = sorted((main.parent / main.stem / "subagents").glob("agent-*.jsonl"))
    flat = [
        path
        for path in sorted(main.parent.glob("agent-*.jsonl"))
        if _first_session_id(path) == main.stem
    ]
    return nested + flat


def _first_session_id(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            record = parse_line(handle.readline())
    except (OSError, ValueError):
        return None
    return str(record.get("sessionId")) if record else None


@dataclass
class FileReading:
    """The records of one file, and the lines skipped with their reasons."""

    records: list[Record]
    skipped: dict[str, int]


def read_records(path: Path) -> FileReading:
    """Every JSON object line of a transcript, and why each other line was skipped."""
    reading = FileReading([], {})
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                _skip(reading, "unfinished last line")
                continue
            try:
                record = _decode(line)
            except UnicodeDecodeError:
                _skip(reading, "not UTF-8")
                continue
            except ValueError:
                _skip(reading, "not a JSON object")
                continue
            except RecursionError:
                _skip(reading, "nested too deeply")
                continue
            if record is not None:
                reading.records.append(record)
    return reading


_DECODER = msgspec.json.Decoder()


def _decode(line: bytes) -> Record | None:
    """One line as an object, decoded by msgspec (a third of the standard decoder's time);
    a line it refuses goes through ``parse_line``, which says what is wrong with it."""
    try:
        record = _DECODER.decode(line)
    except msgspec.DecodeError:
        record = None
    return record if isinstance(record, dict) else parse_line(line)


def _skip(reading: FileReading, reason: str) -> None:
    reading.skipped[reason] = reading.skipped.get(reason, 0) + 1


@dataclass
class SessionImport:
    events: list[dict[str, Any]]
    skipped: dict[str, int]
    lines: int


def import_session(session: SessionFiles, source: dict[str, str]) -> SessionImport | None:
    """The events of one session; None when its transcript holds no session at all."""
    main = read_records(session.main)
    session_id = _session_id(main.records) or session.main.stem
    if not main.records:
        return None
    replay = _Replay(session_id, source, main.records)
    replay.transcript(main.records, parent_key=None)
    skipped = dict(main.skipped)
    lines = len(main.records)
    for path in session.subagents:
        reading = read_records(path)
        replay.subagent(path, reading.records)
        lines += len(reading.records)
        for reason, count in reading.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    replay.close(ended=quiet(session.main))
    return SessionImport(replay.tracker.events, skipped, lines)


def _session_id(records: list[Record]) -> str | None:
    for record in records:
        session_id = record.get("sessionId")
        if isinstance(session_id, str) and session_id:
            return session_id
    return None


def quiet(path: Path) -> bool:
    import time

    return time.time() - path.stat().st_mtime > QUIET_SECONDS


def _ts(record: Record) -> float | None:
    return parse_time(record.get("timestamp"))


class _Replay(HistoryReplay):
    """Drives a Tracker through one session's records as the hooks would have."""

    def __init__(self, session_id: str, source: dict[str, str], records: list[Record]) -> None:
        first = next((ts for ts in map(_ts, records) if ts is not None), 0.0)
        cwd = next((r["cwd"] for r in records if isinstance(r.get("cwd"), str)), None)
        super().__init__(session_id, source, first, cwd)
        self.tool_names: dict[str, str] = {}

    def transcript(
        self, records: list[Record], *, parent_key: str | None, run_id: str | None = None
    ) -> None:
        """Replay a transcript: the session's own, or a sub-agent's (`parent_key`, inside
        the run `run_id`)."""
        folder = CallFolder(self.tracker.session_id, {"run": run_id}, subagent=bool(parent_key))
        for record in records:
            ts = _ts(record)
            for call in folder.feed(record, ts):
                emit_call(self.tracker, call, parent_key)
            if ts is not None:
                self.tracker.now = ts
            if (
                parent_key is None
                and prompt_text(record) is not None
                and not record.get("isSidechain")
            ):
                self._prompt(record, folder)
            else:
                self._record(record, parent_key, run_id)
        for call in folder.finish(force=True):
            emit_call(self.tracker, call, parent_key)

    def subagent(self, path: Path, records: list[Record]) -> None:
        agent_id = next((r["agentId"] for r in records if r.get("agentId")), None)
        agent_id = agent_id or path.stem.removeprefix("agent-")
        key = f"agent:{agent_id}"
        times = [ts for ts in map(_ts, records) if ts is not None]
        if not times:
            return
        self.tracker.now = times[0]
        run_id = self.tracker.ensure_run(self._run_at(times[0]))
        name = _agent_type(path)
        self.tracker.start_span(
            key, kind="agent", name=name, run_id=run_id, agent_id=agent_id, once=True
        )
        self.transcript(records, parent_key=key, run_id=run_id)
        self.tracker.now = times[-1]
        self.tracker.end_span(
            key, kind="agent", name=name, run_id=run_id, agent_id=agent_id, once=True
        )

    def _run_at(self, ts: float) -> str | None:
        """The run a sub-agent started in: the latest one started at or before `ts`."""
        started = [run for run, at in self.tracker.state.get("run_starts", []) if at <= ts]
        return started[-1] if started else None

    def _prompt(self, record: Record, folder: CallFolder) -> None:
        run_id = str(folder.state["run"])
        if self.tracker.state.get("run"):
            self.tracker.end_run(status="ok", output=clip(self.last_text))
        self.tracker.start_run(run_id, input=clip(prompt_text(record)))
        self.tracker.state.setdefault("run_starts", []).append((run_id, self.tracker.now))
        self.last_text = None

    def _record(self, record: Record, parent_key: str | None, run_id: str | None) -> None:
        hook_like: Record = {"agent_id": parent_key.removeprefix("agent:")} if parent_key else {}
        if record.get("type") == "assistant":
            self._assistant(record, hook_like, run_id)
        for result in tool_results(record):
            self._tool_result(result, hook_like, run_id)
        boundary = compaction(record)
        if boundary is not None:
            self._compaction(record, boundary)

    def _assistant(self, record: Record, hook_like: Record, run_id: str | None) -> None:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        if record.get("isApiErrorMessage"):
            self.tracker.error(
                _text_of(message) or "API error",
                kind="api_error",
                event_id=self.tracker.event_id_for("error", str(record.get("uuid"))),
            )
            return
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and block.get("text"):
                self.last_text = str(block["text"])
            tool_id = block.get("id")
            if block.get("type") != "tool_use" or not tool_id or tool_id in self.tool_names:
                continue
            self.tool_names[str(tool_id)] = str(block.get("name"))
            claude_format.start_tool(
                self.tracker,
                {
                    **hook_like,
                    "tool_use_id": tool_id,
                    "tool_name": block.get("name"),
                    "tool_input": block.get("input"),
                },
                run_id,
            )

    def _tool_result(self, result: Record, hook_like: Record, run_id: str | None) -> None:
        tool_id = result.get("tool_use_id")
        if not tool_id or not self.tracker.has_open_span(f"tool:{tool_id}"):
            return  # a result whose call is not in this file, or one already reported
        failed = bool(result.get("is_error"))
        claude_format.end_tool(
            self.tracker,
            {
                **hook_like,
                "tool_use_id": tool_id,
                "tool_name": self.tool_names.get(str(tool_id)),
                "tool_response": result.get("content"),
            },
            status="error" if failed else "ok",
            error=(_result_text(result.get("content")) or "tool failed") if failed else None,
            run_id=run_id,
        )

    def _compaction(self, record: Record, boundary: Record) -> None:
        self.compaction(
            str(record.get("uuid") or self.tracker.now),
            trigger=boundary.get("trigger"),
            pre_tokens=boundary.get("pre_tokens"),
        )


def _text_of(message: Record) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return _result_text(content)


def _result_text(content: object) -> str | None:
    if isinstance(content, str):
        return content[:2000]
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict)]
        return "\n".join(t for t in texts if t)[:2000] or None
    return None


def _agent_type(path: Path) -> str:
    meta = path.with_suffix(".meta.json")
    try:
        from agentmon.client.jsonio import json_loads

        loaded = json_loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "subagent"
    value = loaded.get("agentType") if isinstance(loaded, dict) else None
    return str(value) if value else "subagent"


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
