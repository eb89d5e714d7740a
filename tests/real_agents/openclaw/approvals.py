"""A human's exec-approvals surface on a running OpenClaw gateway, for tests: `approver.mjs`
(OpenClaw's own operator-approvals gateway client) run by OpenClaw's Node, its events read
line by line."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

APPROVER_SCRIPT = Path(__file__).with_name("approver.mjs")


class Approver:
    """Connected to the gateway of `config_path` while open; `next_event` reads what it saw."""

    def __init__(self, openclaw_bin: Path, config_path: Path, env: dict[str, str]) -> None:
        node = openclaw_bin.parent.parent / "node" / "bin" / "node"
        package = openclaw_bin.parent.parent / "openclaw"
        self._process = subprocess.Popen(
            [str(node), str(APPROVER_SCRIPT), str(package), str(config_path)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_line(lambda line: bool(line.get("ready")), timeout=60)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(json.loads(line))
        self._lines.put({"exited": self._process.wait()})

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the approver saw nothing in {timeout} s") from None

    def _next_line(
        self, wanted: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """The next line `wanted`, skipping others (connect errors while the client retries)."""
        while True:
            line = self._next(timeout)
            assert "exited" not in line, f"the approver exited: {line}"
            if wanted(line):
                return line

    def next_event(self, name: str, timeout: float = 120) -> dict[str, Any]:
        """The payload of the next `name` event (exec.approval.requested / .resolved)."""
        line = self._next_line(lambda line: line.get("event") == name, timeout)
        payload: dict[str, Any] = line["payload"]
        return payload

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=30)
