"""``agentmon import``: the user's local agent history, posted to an ingest gateway."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from agentmon.client.config import ClientConfig
from agentmon.client.delivery import MAX_BATCH_EVENTS, Endpoint, RetryPolicy, deliver_events
from agentmon.client.usage import normalize_usage
from agentmon.importer import hermes_db, openclaw_db
from agentmon.integrations import (
    claude_history,
    codex_history,
    gemini_history,
    hermes_history,
    openclaw_history,
)
from agentmon.progress import ProgressBar

TOOLS = ("claude-code", "codex", "gemini-cli", "openclaw", "hermes", "all")
POST_TIMEOUT = 10.0
POST_ATTEMPTS = 5
POST_BUDGET = 120.0


def add_import_command(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help="import the agent history on this machine (Claude Code, Codex, Gemini CLI, OpenClaw)",
        description="Reads the tools' local transcripts (Claude Code: $CLAUDE_CONFIG_DIR, else "
        "~/.claude and ~/.config/claude; Codex: $CODEX_HOME, else ~/.codex; Gemini CLI: "
        "$GEMINI_CLI_HOME/.gemini, else ~/.gemini; OpenClaw: $OPENCLAW_STATE_DIR, else "
        "~/.openclaw; Hermes: $HERMES_HOME/state.db, else ~/.hermes/state.db, ended sessions) "
        "and posts their "
        "sessions, runs, tool and LLM spans, usage, errors and compactions to the ingest "
        "gateway. Ids are derived from the "
        "tools' own ids, so importing again, or importing sessions the hooks already "
        "reported, adds nothing twice.",
    )
    parser.add_argument("tool", nargs="?", choices=TOOLS, default="all", help="whose history")
    parser.add_argument(
        "--path", type=Path, help="read this directory instead (a tool's root or its projects/)"
    )
    parser.add_argument(
        "--since", help="only sessions written on or after this date (YYYY-MM-DD or RFC 3339)"
    )
    parser.add_argument(
        "--ingest-url", help="the gateway to post to (default: $AGENTMON_INGEST_URL)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="read and count everything, post nothing"
    )
    parser.set_defaults(run=run_import)


@dataclass
class Summary:
    files: int = 0
    sessions: int = 0
    lines: int = 0
    events: int = 0
    delivered: int = 0
    tokens: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def lines_of_text(self, dry_run: bool) -> list[str]:
        posted = "would post" if dry_run else "posted"
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return [
            f"files: {self.files}, sessions: {self.sessions}, lines: {self.lines}",
            f"events: {self.events} ({posted}: {self.events if dry_run else self.delivered})",
            f"tokens: {self.tokens}",
            f"skipped lines: {sum(self.skipped.values())}" + (f" ({skipped})" if skipped else ""),
            *(f"problem: {problem}" for problem in self.problems),
        ]


async def run_import(args: argparse.Namespace, settings: object) -> int:
    import asyncio

    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"agentmon import: {exc}", file=sys.stderr)
        return 2
    summary = await asyncio.to_thread(
        import_history, args.tool, args.path, since, args.ingest_url, args.dry_run, sys.stderr
    )
    for line in summary.lines_of_text(args.dry_run):
        print(line)
    return 1 if summary.problems else 0


def parse_since(text: str | None) -> float | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r} is not a date (YYYY-MM-DD or RFC 3339)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@dataclass
class Tool:
    """One tool's history: where it lives, how to find its sessions and import one."""

    framework: str
    roots: Callable[[dict[str, str]], list[Path]]
    find: Callable[[list[Path], float | None], list[Any]]
    size: Callable[[Any], int]
    files: Callable[[Any], int]
    load: Callable[[Any, dict[str, str]], claude_history.SessionImport | None]


def _codex_find(roots: list[Path], since: float | None) -> list[Path]:
    rollouts, _compressed = codex_history.find_rollouts(roots, since)
    return rollouts


TOOL_READERS = {
    "claude-code": Tool(
        claude_history.FRAMEWORK,
        claude_history.default_roots,
        claude_history.find_sessions,
        lambda session: claude_history.file_size(session.main),
        lambda session: len(session.paths),
        claude_history.import_session,
    ),
    "codex": Tool(
        codex_history.FRAMEWORK,
        codex_history.default_roots,
        _codex_find,
        claude_history.file_size,
        lambda _path: 1,
        codex_history.import_rollout,
    ),
    "gemini-cli": Tool(
        gemini_history.FRAMEWORK,
        gemini_history.default_roots,
        gemini_history.find_chats,
        claude_history.file_size,
        lambda _path: 1,
        gemini_history.import_chat,
    ),
    "openclaw": Tool(
        openclaw_history.FRAMEWORK,
        openclaw_history.default_roots,
        openclaw_db.find_history,
        openclaw_db.history_size,
        lambda _item: 1,
        openclaw_db.import_history,
    ),
    "hermes": Tool(
        hermes_history.FRAMEWORK,
        hermes_history.default_roots,
        hermes_db.find_sessions,
        hermes_db.database_size,
        lambda _session: 1,
        hermes_db.import_session,
    ),
}


def import_history(
    tool: str,
    path: Path | None,
    since: float | None,
    ingest_url: str | None,
    dry_run: bool,
    progress_to: TextIO,
) -> Summary:
    """Read every session of `tool` (or of every tool) and post its events."""
    config = ClientConfig()
    endpoint = Endpoint(ingest_url or config.ingest_url, config.api_key)
    policy = RetryPolicy(timeout=POST_TIMEOUT, attempts=POST_ATTEMPTS, budget=POST_BUDGET)
    readers = list(TOOL_READERS.values()) if tool == "all" else [TOOL_READERS[tool]]
    found = [
        (reader, item)
        for reader in readers
        for item in reader.find([path] if path else reader.roots(dict(os.environ)), since)
    ]
    summary = Summary()
    outbox = _Outbox(summary, endpoint, policy)
    progress = ProgressBar(
        "importing", sum(reader.size(item) for reader, item in found), out=progress_to, every=0.1
    )
    for reader, item in found:
        summary.files += reader.files(item)
        imported = reader.load(item, config.source(reader.framework))
        progress.add(reader.size(item))
        if imported is None:
            continue
        _count(summary, imported)
        if not dry_run:
            outbox.add(imported.events, str(item))
    outbox.flush()
    progress.done(complete=True)
    return summary


class _Outbox:
    """Events of consecutive sessions gathered into full POSTs (a history of many short
    sessions costs a round trip per batch, not per session); each session's events stay
    in order and together. A problem names the files of the events it concerns."""

    def __init__(self, summary: Summary, endpoint: Endpoint, policy: RetryPolicy) -> None:
        self.summary, self.endpoint, self.policy = summary, endpoint, policy
        self.events: list[dict[str, Any]] = []
        self.files: dict[str, str] = {}  # session id → the file it came from

    def add(self, events: list[dict[str, Any]], where: str) -> None:
        self.events += events
        self.files.update((_session_of(event), where) for event in events)
        if len(self.events) >= MAX_BATCH_EVENTS:
            self.flush()

    def flush(self) -> None:
        if not self.events:
            return
        report = deliver_events(self.endpoint, self.events, self.policy)
        self.summary.delivered += report.delivered
        refused: dict[str, list[dict[str, Any]]] = {}
        for batch, reason in report.refused:
            refused.setdefault(reason, []).extend(batch)
        for reason, events in refused.items():
            self._problem(events, f"refused: {reason}")
        self._problem(report.leftover, f"not delivered: {report.problem}")
        self.events, self.files = [], {}

    def _problem(self, events: list[dict[str, Any]], what: str) -> None:
        """One problem line per file of `events`: how many of its events `what`."""
        counts: dict[str, int] = {}
        for event in events:
            where = self.files[_session_of(event)]
            counts[where] = counts.get(where, 0) + 1
        for where, count in counts.items():
            self.summary.problems.append(f"{where}: {count} event(s) {what}")


def _session_of(event: dict[str, Any]) -> str:
    return str(event["correlation"].get("session_id"))


def _count(summary: Summary, imported: claude_history.SessionImport) -> None:
    summary.sessions += 1
    summary.lines += imported.lines
    summary.events += len(imported.events)
    for reason, count in imported.skipped.items():
        summary.skipped[reason] = summary.skipped.get(reason, 0) + count
    for event in imported.events:
        if event["event"]["type"] == "metric.snapshot":
            summary.tokens += normalize_usage(event["payload"].get("usage")).get("total_tokens", 0)
