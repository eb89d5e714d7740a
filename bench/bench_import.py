"""Throughput of `agentmon import claude-code`: lines per second and total time.

Writes a fixture home of Claude Code sessions (by default 1,000 sessions of 200 lines:
prompts, responses streamed as two lines, tool calls and results), then imports it, with
``--dry-run`` (reading and mapping only) and, with ``--post``, into a fresh embedded
`agentmon serve` started for the run.

    .venv/bin/python bench/bench_import.py                       # read + map only
    .venv/bin/python bench/bench_import.py --sessions 200 --post  # also post to a server
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_hooks import embedded_server

from agentmon.importer.command import import_history

TARGET_LINES_PER_SECOND = 20_000


def write_session(path: Path, session: str, lines: int) -> None:
    """A session of `lines` lines: each exchange is a prompt or tool result, then a
    response streamed as two lines (text, tool call)."""
    rows = []
    for turn in range(lines // 3):
        stamp = f"2026-08-20T09:{turn // 60 % 60:02d}:{turn % 60:02d}.000Z"
        common = {"sessionId": session, "timestamp": stamp, "cwd": "/home/ada/app"}
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200, help="lines per session")
    parser.add_argument("--post", action="store_true", help="also post to an embedded server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentmon-bench-import-") as tmp:
        root = Path(tmp) / ".claude"
        for number in range(args.sessions):
            session = f"00000000-0000-4000-8000-{number:012d}"
            write_session(
                root / "projects" / "-home-ada-app" / f"{session}.jsonl", session, args.lines
            )
        met = report("dry run (read + map)", root, None)
        if args.post:
            with embedded_server(Path(tmp)) as url:
                report("posted", root, url)
    return 0 if met else 1


def report(label: str, root: Path, ingest_url: str | None) -> bool:
    started = time.perf_counter()
    summary = import_history(
        "claude-code", root, None, ingest_url, ingest_url is None, io.StringIO()
    )
    elapsed = time.perf_counter() - started
    rate = summary.lines / elapsed
    counts = f"{summary.sessions} sessions, {summary.lines} lines, {summary.events} events"
    target = f"target >= {TARGET_LINES_PER_SECOND:,}"
    print(f"{label:22s} {counts} in {elapsed:.1f} s: {rate:,.0f} lines/s ({target})")
    for problem in summary.problems[:3]:
        print("  problem:", problem)
    return rate >= TARGET_LINES_PER_SECOND


if __name__ == "__main__":
    sys.exit(main())
