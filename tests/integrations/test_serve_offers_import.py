"""`agentmon serve` on its first start, at a terminal (a real pseudo-terminal), with agent
history on the machine: it asks, and imports only on yes; a second start asks nothing."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from integration_helpers import QueryClient
from test_gemini_import import write_home
from tests.conftest import free_ports, port_open, wait_until


def read_until(fd: int, text: str, timeout: float = 60) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen.decode(errors="replace")


def serve_in_terminal(home: Path, data_dir: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    ports = free_ports(4)
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTMON_", "GEMINI_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentmon",
            "serve",
            "--data-dir",
            str(data_dir),
            "--addr",
            f"127.0.0.1:{ports[0]}",
            "--query-addr",
            f"127.0.0.1:{ports[1]}",
            "--ui-addr",
            f"127.0.0.1:{ports[2]}",
            "--otlp-addr",
            f"127.0.0.1:{ports[3]}",
        ],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**env, "HOME": str(home), "OPENCLAW_REGISTRY": str(data_dir / "none.json")},
    )
    os.close(secondary)
    return process, primary, ports[1]


def stop(process: subprocess.Popen[bytes], fd: int) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    os.close(fd)


@pytest.mark.parametrize("answer", ["y", "n"])
def test_the_first_start_asks_before_importing(tmp_path: Path, answer: str) -> None:
    session_id = str(uuid.uuid4())
    write_home(tmp_path / "home", session_id)
    process, fd, query_port = serve_in_terminal(tmp_path / "home", tmp_path / "data")
    try:
        assert "gemini-cli: 2). Import it? [Y/n]" in read_until(fd, "[Y/n]")
        os.write(fd, f"{answer}\n".encode())
        query = QueryClient(f"http://127.0.0.1:{query_port}")
        if answer == "y":
            assert "agentmon import: files: 2, sessions: 2" in read_until(fd, "sessions: 2")
            detail = query.wait_for_session(session_id, lambda d: d["session"]["run_count"] == 2)
            assert detail["session"]["framework"] == "gemini-cli"
        else:
            assert "not imported" in read_until(fd, "not imported")
            # a loaded machine can take longer than the 2 s below to start serving
            wait_until(lambda: port_open("127.0.0.1", query_port), 30, "the query API")
            time.sleep(2)
            with pytest.raises(Exception, match="404"):
                query.session(session_id)
    finally:
        stop(process, fd)

    again, fd, _ = serve_in_terminal(tmp_path / "home", tmp_path / "data")
    try:
        assert "Import it?" not in read_until(fd, "listening", timeout=15)
    finally:
        stop(again, fd)
