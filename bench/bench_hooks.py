"""Wall time of one hook-handler invocation, against a bare ``python -c pass``.

Runs each of the four handler commands many times with realistic payloads (a prompt, a
tool start, a tool end and a turn end, in turn) while an agentmon server is up, taking
turns with a bare ``python -c pass`` so that machine load hits all alike, and prints
the median per command, the ratio to bare Python, and whether the targets (<= 60 ms and
<= 1.5x bare Python) are met. A last row times the Claude Code Stop hook reading its
transcript: 2 MB of which 20 KB (about ten model calls) were written since the last hook
(target <= 1.6x bare Python).

A handler hands its events to the spool and returns while a sender it forks delivers them
(the default); ``AGENTMON_HOOK_DELIVERY=wait`` in the environment times handlers that wait
for the gateway's answer instead. The last line counts the batches still in the spool once
the senders are done (expected: 0).

    .venv/bin/python bench/bench_hooks.py                   # starts its own `agentmon serve`
    .venv/bin/python bench/bench_hooks.py --ingest-url http://127.0.0.1:8080 --runs 100
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TARGET_MS = 60.0
TARGET_RATIO = 1.5
TRANSCRIPT_TARGET_RATIO = 1.6
TRANSCRIPT_BYTES = 2_000_000
NEW_BYTES = 20_000


def claude_payloads(session: str) -> list[dict[str, Any]]:
    base = {
        "session_id": session,
        "transcript_path": f"/tmp/{session}.jsonl",
        "cwd": "/home/ada/src/app",
        "permission_mode": "default",
    }
    tool = {"tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_use_id": "toolu_01"}
    return [
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "Fix the failing test"},
        {**base, "hook_event_name": "PreToolUse", **tool},
        {
            **base,
            "hook_event_name": "PostToolUse",
            **tool,
            "tool_response": {"stdout": "1 passed", "stderr": "", "interrupted": False},
        },
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
    ]


def codex_payloads(session: str) -> list[dict[str, Any]]:
    base = {
        "session_id": session,
        "turn_id": "turn-1",
        "transcript_path": None,
        "cwd": "/home/ada/src/app",
        "model": "gpt-5.4",
        "permission_mode": "default",
    }
    tool = {"tool_name": "Bash", "tool_input": {"command": "rg foo"}, "tool_use_id": "call_1"}
    return [
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "Rename foo to bar"},
        {**base, "hook_event_name": "PreToolUse", **tool},
        {
            **base,
            "hook_event_name": "PostToolUse",
            **tool,
            "tool_response": {"exit_code": 0, "stdout": "src/lib.rs:12", "stderr": ""},
        },
        {
            **base,
            "hook_event_name": "Stop",
            "stop_hook_active": False,
            "last_assistant_message": "Renamed.",
        },
    ]


def gemini_payloads(session: str) -> list[dict[str, Any]]:
    base = {
        "session_id": session,
        "transcript_path": "/tmp/chat.json",
        "cwd": "/home/ada/src/app",
        "timestamp": "2026-08-20T14:30:00.000Z",
    }
    tool = {"tool_name": "run_shell_command", "tool_input": {"command": "pytest -q"}}
    return [
        {**base, "hook_event_name": "BeforeAgent", "prompt": "Why does test_parse fail?"},
        {**base, "hook_event_name": "BeforeTool", **tool},
        {
            **base,
            "hook_event_name": "AfterTool",
            **tool,
            "tool_response": {"llmContent": "1 passed", "returnDisplay": "1 passed"},
        },
        {**base, "hook_event_name": "AfterAgent", "prompt": "Why?", "prompt_response": "Fixed."},
    ]


def hermes_payloads(session: str) -> list[dict[str, Any]]:
    def hook(name: str, tool: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "hook_event_name": name,
            "tool_name": tool,
            "tool_input": {"command": "ls"} if tool else None,
            "session_id": session,
            "cwd": "/home/ada/src/app",
            "profile": "default",
            "extra": {**extra, "telemetry_schema_version": "hermes.observer.v1"},
        }

    return [
        hook("pre_llm_call", turn_id="turn-1", user_message="List the files"),
        hook("pre_tool_call", "terminal", tool_call_id="t1", turn_id="turn-1"),
        hook(
            "post_tool_call",
            "terminal",
            tool_call_id="t1",
            turn_id="turn-1",
            status="ok",
            duration_ms=37,
            result='{"exit_code": 0}',
        ),
        hook("post_llm_call", turn_id="turn-1", assistant_response="3 files"),
    ]


class GrowingTranscript:
    """A Claude Code transcript that gains `NEW_BYTES` of model calls before each timed run."""

    def __init__(self, path: Path, session: str) -> None:
        self.path = path
        self.session = session
        self.calls = 0
        with path.open("w", encoding="utf-8") as handle:
            handle.write(self._prompt() + "\n")
            while handle.tell() < TRANSCRIPT_BYTES:
                handle.write(self._call_lines())

    def _prompt(self) -> str:
        return json.dumps({
            "type": "user", "uuid": "u0", "sessionId": self.session,
            "timestamp": "2026-08-20T09:00:00.000Z", "cwd": "/home/ada/src/app",
            "message": {"role": "user", "content": "Fix the failing test"},
        })  # fmt: skip

    def _call_lines(self) -> str:
        """One response streamed as two lines (text, then a tool call), about 2 KB."""
        self.calls += 1
        message_id, usage = f"msg_{self.calls:08d}", {"input_tokens": 4, "output_tokens": 85}
        lines: list[str] = []
        for block in (
            {"type": "text", "text": "Looking at the failing test. " * 30},
            {"type": "tool_use", "id": f"toolu_{self.calls}", "name": "Bash",
             "input": {"command": "pytest -q " + "tests/test_parse.py " * 10}},
        ):  # fmt: skip
            lines.append(json.dumps({
                "type": "assistant", "uuid": f"a{self.calls}-{len(lines)}",
                "sessionId": self.session, "timestamp": "2026-08-20T09:00:03.900Z",
                "requestId": f"req_{self.calls}", "cwd": "/home/ada/src/app",
                "message": {"id": message_id, "model": "claude-sonnet-4-6", "role": "assistant",
                            "content": [block], "stop_reason": "tool_use", "usage": usage},
            }))  # fmt: skip
        return "\n".join(lines) + "\n"

    def append_new(self) -> None:
        written = 0
        with self.path.open("a", encoding="utf-8") as handle:
            while written < NEW_BYTES:
                written += handle.write(self._call_lines())


COMMANDS = {
    "agentmon-claude-handler": claude_payloads,
    "agentmon-codex-handler": codex_payloads,
    "agentmon-gemini-handler": gemini_payloads,
    "agentmon-hermes-handler": hermes_payloads,
}


Command = tuple[list[str], list[bytes], "Callable[[], None] | None"]


def timed(
    args: list[str], stdin: bytes, env: dict[str, str], prepare: Callable[[], None] | None = None
) -> float:
    if prepare is not None:
        prepare()
    started = time.perf_counter()
    subprocess.run(args, input=stdin, env=env, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def medians_ms(commands: dict[str, Command], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time per command, the commands taking turns so load spikes hit all alike."""
    for args, stdins, prepare in commands.values():
        timed(args, stdins[0], env, prepare)  # warm-up: byte-compile, fill the page cache
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs):
        for name, (args, stdins, prepare) in commands.items():
            samples[name].append(timed(args, stdins[run % len(stdins)], env, prepare))
    return {name: statistics.median(values) for name, values in samples.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def embedded_server(workdir: Path) -> Iterator[str]:
    ports = {name: free_port() for name in ("ingest", "query", "ui", "otlp")}
    args = [
        sys.executable,
        "-m",
        "agentmon",
        "serve",
        "--data-dir",
        str(workdir / "data"),
        "--addr",
        f"127.0.0.1:{ports['ingest']}",
        "--query-addr",
        f"127.0.0.1:{ports['query']}",
        "--ui-addr",
        f"127.0.0.1:{ports['ui']}",
        "--otlp-addr",
        f"127.0.0.1:{ports['otlp']}",
    ]
    env = {**os.environ, "OPENCLAW_REGISTRY": str(workdir / "no-registry.json")}
    with open(workdir / "server.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{ports['ingest']}"
    try:
        deadline = time.monotonic() + 30
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"agentmon serve did not start; see {workdir / 'server.log'}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def hook_env(workdir: Path, ingest_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        AGENTMON_INGEST_URL=ingest_url,
        AGENTMON_SPOOL_DIR=str(workdir / "spool"),
        AGENTMON_STATE_DIR=str(workdir / "state"),
        AGENTMON_HOOK_LOG=str(workdir / "hooks.log"),
    )
    return env


TRANSCRIPT_ROW = "claude Stop, 2MB transcript"


def transcript_stop(workdir: Path) -> Command:
    """The Stop hook of a session whose transcript gains 20 KB before each run."""
    session = f"bench-transcript-{os.getpid()}"
    transcript = GrowingTranscript(workdir / f"{session}.jsonl", session)
    payload = {
        "session_id": session,
        "transcript_path": str(transcript.path),
        "cwd": "/home/ada/src/app",
        "hook_event_name": "Stop",
        "stop_hook_active": False,
    }
    args = [str(BIN / "agentmon-claude-handler")]
    return args, [json.dumps(payload).encode()], transcript.append_new


def run_bench(ingest_url: str, workdir: Path, runs: int) -> bool:
    env = hook_env(workdir, ingest_url)
    commands: dict[str, Command] = {"python -c pass": ([sys.executable, "-c", "pass"], [b""], None)}
    for command, payloads in COMMANDS.items():
        stdins = [json.dumps(p).encode() for p in payloads(f"bench-{command}-{os.getpid()}")]
        commands[command] = ([str(BIN / command)], stdins, None)
    commands[TRANSCRIPT_ROW] = transcript_stop(workdir)
    medians = medians_ms(commands, env, runs)
    bare = medians.pop("python -c pass")
    print(f"{'python -c pass':28s} {bare:7.1f} ms")
    met = True
    for command, median in medians.items():
        ratio = median / bare
        limit = TRANSCRIPT_TARGET_RATIO if command == TRANSCRIPT_ROW else TARGET_RATIO
        meets = median <= TARGET_MS and ratio <= limit
        met = met and meets
        verdict = "ok" if meets else "over target"
        print(f"{command:28s} {median:7.1f} ms  {ratio:4.2f}x bare  {verdict}")
    spooled = settled_spool(workdir / "spool")
    print(
        f"targets: <= {TARGET_MS:.0f} ms and <= {TARGET_RATIO}x bare python "
        f"({TRANSCRIPT_TARGET_RATIO}x for the transcript row)"
    )
    print(f"batches spooled (gateway not reached): {len(spooled)}")
    return met


def settled_spool(spool: Path, patience: float = 10.0) -> list[Path]:
    """The batches left in the spool once the background senders are done (or `patience`
    seconds passed: a gateway that cannot be reached leaves them there)."""
    deadline = time.monotonic() + patience
    while any(spool.glob("*.json*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(spool.glob("*.json"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="invocations per command (default 60)")
    parser.add_argument("--ingest-url", help="a running gateway (default: start agentmon serve)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentmon-bench-") as tmp:
        workdir = Path(tmp)
        if args.ingest_url:
            met = run_bench(args.ingest_url.rstrip("/"), workdir, args.runs)
        else:
            with embedded_server(workdir) as url:
                met = run_bench(url, workdir, args.runs)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
