"""Throughput of `agentmon import`: lines per second and total time, for every tool.

Writes a fixture history per tool (by default 1,000 sessions of 200 lines each for Claude
Code, and 200 sessions of 200 lines for Codex, Gemini CLI, OpenClaw and Hermes: prompts,
model replies, tool calls and results, in each tool's own format), then imports it
`--repeat` times with ``--dry-run`` (reading and mapping only) and prints the median, and,
with ``--post``, once more into a fresh embedded `agentmon serve` started for the run.
The load average is printed alongside (the machine is shared: read ratios, not absolutes).

    .venv/bin/python bench/bench_import.py                          # every tool, read + map
    .venv/bin/python bench/bench_import.py --tools claude-code --post
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_hooks import embedded_server

from agentmon.importer.command import Summary, import_history

TARGET_LINES_PER_SECOND = 20_000
CLAUDE_SESSIONS = 1000
OTHER_SESSIONS = 200


def stamp(turn: int) -> str:
    return f"2026-08-20T09:{turn // 60 % 60:02d}:{turn % 60:02d}.000Z"


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def claude_session(root: Path, number: int, lines: int) -> None:
    """Each exchange is a prompt or tool result, then a response streamed as two lines
    (text, tool call)."""
    session = f"00000000-0000-4000-8000-{number:012d}"
    rows = []
    for turn in range(lines // 3):
        common = {"sessionId": session, "timestamp": stamp(turn), "cwd": "/home/ada/app"}
        if turn % 10 == 0:
            content: object = f"Prompt number {turn}: fix the next failing test"
        else:
            content = [{"type": "tool_result", "tool_use_id": f"toolu_{turn - 1}",
                        "content": "ok " * 40, "is_error": False}]  # fmt: skip
        rows.append({"type": "user", "uuid": f"u{turn}", **common,
                     "message": {"role": "user", "content": content}})  # fmt: skip
        usage = {"input_tokens": 4, "cache_read_input_tokens": 18000, "output_tokens": 85}
        for block in (
            {"type": "text", "text": "Looking at it. " * 20},
            {"type": "tool_use", "id": f"toolu_{turn}", "name": "Bash",
             "input": {"command": "pytest -q"}},
        ):  # fmt: skip
            rows.append({"type": "assistant", "uuid": f"a{turn}-{block['type']}", **common,
                         "requestId": f"req_{turn}",
                         "message": {"id": f"msg_{turn}", "model": "claude-sonnet-4-6",
                                     "content": [block], "stop_reason": "tool_use",
                                     "usage": usage}})  # fmt: skip
    write_lines(root / "projects" / "-home-ada-app" / f"{session}.jsonl", rows)


def codex_session(root: Path, number: int, lines: int) -> None:
    """A turn every ten exchanges; each exchange a call, its output, a token count and
    (every other one) a repeated token count."""
    thread = f"019d036d-0000-7000-8000-{number:012d}"

    def row(turn: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": stamp(turn), "type": kind, "payload": payload}

    rows = [row(0, "session_meta", {"id": thread, "timestamp": stamp(0), "cwd": "/home/ada/app",
                                    "originator": "codex_cli_rs", "source": "cli"})]  # fmt: skip
    total = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    turn = 0
    while len(rows) < lines:
        turn += 1
        if turn % 10 == 1:
            rows.append(row(turn, "turn_context", {"turn_id": f"t{turn}", "model": "gpt-5.4"}))
            rows.append(row(turn, "event_msg", {"type": "user_message", "message": "Fix it"}))
        arguments = json.dumps({"command": ["pytest", "-q"]})
        call = {"type": "function_call", "name": "shell", "call_id": f"c{turn}"}
        rows.append(row(turn, "response_item", {**call, "arguments": arguments}))
        output = {"type": "function_call_output", "call_id": f"c{turn}", "output": "ok " * 40}
        rows.append(row(turn, "response_item", output))
        last = {"input_tokens": 9000, "cached_input_tokens": 6000, "output_tokens": 300,
                "total_tokens": 9300}  # fmt: skip
        total = {name: total[name] + last[name] for name in total}
        info = {"total_token_usage": total, "last_token_usage": last}
        for _ in range(1 + turn % 2):
            rows.append(row(turn, "event_msg", {"type": "token_count", "info": info}))
    name = f"rollout-2026-08-20T09-00-00-{thread}.jsonl"
    write_lines(root / "sessions" / "2026" / "08" / "20" / name, rows)


def gemini_session(root: Path, number: int, lines: int) -> None:
    """A prompt every ten exchanges; each exchange a reply written twice (its tool call
    added), the tool's answer as a user message and a metadata patch."""
    session = f"8c0f2a1e-0000-4000-8000-{number:012d}"
    rows: list[dict[str, Any]] = [{"sessionId": session, "projectHash": "app",
                                   "startTime": stamp(0), "kind": "main"}]  # fmt: skip
    turn = 0
    while len(rows) < lines:
        turn += 1
        if turn % 10 == 1:
            rows.append({"id": f"u{turn}", "timestamp": stamp(turn), "type": "user",
                         "content": [{"text": f"Prompt number {turn}"}]})  # fmt: skip
        call = {"id": f"c{turn}", "name": "run_shell_command", "args": {"command": "pytest"}}
        reply = {"id": f"m{turn}", "timestamp": stamp(turn), "type": "gemini",
                 "content": "Looking at it. " * 20, "model": "gemini-2.5-pro",
                 "tokens": {"input": 5200, "output": 40, "cached": 3100, "thoughts": 120,
                            "tool": 0, "total": 5360}}  # fmt: skip
        answer = {"functionResponse": {"id": call["id"], "response": {"output": "ok " * 40}}}
        rows.append(reply)
        rows.append({**reply, "toolCalls": [{**call, "status": "success", "result": [answer]}]})
        rows.append({"id": f"r{turn}", "timestamp": stamp(turn), "type": "user",
                     "content": [answer]})  # fmt: skip
        rows.append({"$set": {"lastUpdated": stamp(turn)}})
    write_lines(root / "tmp" / "app" / "chats" / f"session-{session}.jsonl", rows)


def openclaw_session(root: Path, number: int, lines: int) -> None:
    """A prompt every ten exchanges; each exchange an assistant message with a tool call
    and usage, then the tool's result."""
    session = f"b7c1e2d0-0000-4000-8000-{number:012d}"
    rows: list[dict[str, Any]] = [{"type": "session", "version": 3, "id": session,
                                   "timestamp": stamp(0), "cwd": "/home/ada/ws"}]  # fmt: skip
    turn = 0
    while len(rows) < lines:
        turn += 1
        if turn % 10 == 1:
            rows.append({"type": "message", "id": f"u{turn}", "timestamp": stamp(turn),
                         "message": {"role": "user", "content": "Fix the build"}})  # fmt: skip
        usage = {"input": 12, "output": 40, "cacheRead": 9000, "cacheWrite": 800,
                 "totalTokens": 9852, "cost": {"total": 0.0093}}  # fmt: skip
        content = [{"type": "text", "text": "Looking at it. " * 20},
                   {"type": "toolCall", "id": f"tc{turn}", "name": "exec",
                    "arguments": {"command": "make"}}]  # fmt: skip
        rows.append({"type": "message", "id": f"a{turn}", "timestamp": stamp(turn),
                     "message": {"role": "assistant", "content": content,
                                 "model": "claude-opus-4-6", "provider": "anthropic",
                                 "usage": usage, "stopReason": "toolUse"}})  # fmt: skip
        rows.append({"type": "message", "id": f"t{turn}", "timestamp": stamp(turn),
                     "message": {"role": "toolResult", "toolCallId": f"tc{turn}",
                                 "toolName": "exec", "isError": False,
                                 "content": [{"type": "text", "text": "ok " * 40}]}})  # fmt: skip
    write_lines(root / "agents" / "main" / "sessions" / f"{session}.jsonl", rows)


HERMES_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, source TEXT, model TEXT,
  billing_provider TEXT, parent_session_id TEXT, end_reason TEXT, started_at REAL,
  ended_at REAL, last_activity_at REAL, input_tokens INTEGER, output_tokens INTEGER,
  cache_read_tokens INTEGER, cache_write_tokens INTEGER, cwd TEXT, git_branch TEXT, title TEXT);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT,
  role TEXT, content TEXT, tool_call_id TEXT, tool_calls TEXT, tool_name TEXT,
  timestamp REAL, token_count INTEGER, active INTEGER DEFAULT 1);
CREATE INDEX IF NOT EXISTS idx_messages_session ON messages(session_id, timestamp);
"""  # the index is Hermes's own (hermes_state.py)


def hermes_session(root: Path, number: int, lines: int) -> None:
    """A session row and `lines` - 1 messages: a prompt every ten exchanges, each exchange
    an assistant message and a tool message."""
    session = f"20260820_090000_{number:06d}"
    start = 1787216400.0 + number
    root.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(root / "state.db") as db:
        db.executescript(HERMES_SCHEMA)
        db.execute(
            "INSERT INTO sessions (id, source, model, billing_provider, started_at, ended_at, "
            "input_tokens, output_tokens, cwd) VALUES (?, 'cli', 'claude-sonnet-4-6', "
            "'anthropic', ?, ?, 5400, 900, '/home/ada/app')",
            [session, start, start + 600],
        )
        messages: list[tuple[str, str, str, str | None, str | None, float]] = []
        for index in range(lines - 1):
            at = start + index
            if index % 20 == 0:
                messages.append((session, "user", "Fix the build", None, None, at))
            elif index % 2:
                messages.append((session, "assistant", "Looking at it. " * 20, None, None, at))
            else:
                messages.append((session, "tool", "ok " * 40, f"call_{index}", "terminal", at))
        db.executemany(
            "INSERT INTO messages (session_id, role, content, tool_call_id, tool_name, "
            "timestamp) VALUES (?, ?, ?, ?, ?, ?)",
            messages,
        )


WRITERS: dict[str, tuple[Callable[[Path, int, int], None], int]] = {
    "claude-code": (claude_session, CLAUDE_SESSIONS),
    "codex": (codex_session, OTHER_SESSIONS),
    "gemini-cli": (gemini_session, OTHER_SESSIONS),
    "openclaw": (openclaw_session, OTHER_SESSIONS),
    "hermes": (hermes_session, OTHER_SESSIONS),
}


def write_history(tool: str, root: Path, sessions: int, lines: int) -> None:
    writer, _ = WRITERS[tool]
    for number in range(sessions):
        writer(root, number, lines)
    old = time.time() - 7200  # finished sessions, as a history mostly is
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


Timing = tuple[float, float]  # wall seconds, CPU seconds of this process


def measure(tool: str, root: Path, ingest_url: str | None) -> tuple[Timing, Summary]:
    started, cpu = time.perf_counter(), time.process_time()
    summary = import_history(tool, root, None, ingest_url, ingest_url is None, io.StringIO())
    return (time.perf_counter() - started, time.process_time() - cpu), summary


def report(label: str, timings: list[Timing], summary: Summary) -> bool:
    """Median wall time and lines/s; lines per CPU second too, which the load of a shared
    machine disturbs less (the import is one thread)."""
    wall = statistics.median(t for t, _ in timings)
    cpu = statistics.median(c for _, c in timings)
    rate = summary.lines / wall
    counts = f"{summary.sessions} sessions, {summary.lines} lines, {summary.events} events"
    load = os.getloadavg()[0]
    print(
        f"{label:22s} {counts}: median {wall:.2f} s of {len(timings)}, {rate:>7,.0f} lines/s,"
        f" {summary.lines / cpu:>7,.0f} lines/CPU-s (load {load:.1f};"
        f" target >= {TARGET_LINES_PER_SECOND:,})"
    )
    for problem in summary.problems[:3]:
        print("  problem:", problem)
    return rate >= TARGET_LINES_PER_SECOND


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", nargs="+", choices=list(WRITERS), default=list(WRITERS))
    parser.add_argument("--sessions", type=int, help="sessions per tool (default: see above)")
    parser.add_argument("--lines", type=int, default=200, help="lines per session")
    parser.add_argument("--repeat", type=int, default=3, help="dry runs per tool (median)")
    parser.add_argument("--post", action="store_true", help="also post to an embedded server")
    args = parser.parse_args()
    met = True
    with tempfile.TemporaryDirectory(prefix="agentmon-bench-import-") as tmp:
        roots = {}
        for tool in args.tools:
            roots[tool] = Path(tmp) / tool
            write_history(tool, roots[tool], args.sessions or WRITERS[tool][1], args.lines)
        for tool in args.tools:
            runs = [measure(tool, roots[tool], None) for _ in range(args.repeat)]
            met = report(f"{tool} dry run", [t for t, _ in runs], runs[-1][1]) and met
        if args.post:
            with embedded_server(Path(tmp)) as url:
                for tool in args.tools:
                    timing, summary = measure(tool, roots[tool], url)
                    report(f"{tool} posted", [timing], summary)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
