"""A program on a pseudo-terminal, driven as a person at a keyboard would: the real agent CLIs'
interactive TUIs (Codex, Gemini CLI) in the real-agent tests."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>78]")
TERMINAL_QUERIES = {
    b"\x1b[6n": b"\x1b[1;1R",  # cursor position
    b"\x1b[c": b"\x1b[?62;22c",  # device attributes
    b"\x1b[?u": b"\x1b[?0u",  # keyboard enhancement flags
    b"\x1b]10;?": b"\x1b]10;rgb:ffff/ffff/ffff\x1b\\",  # foreground colour
    b"\x1b]11;?": b"\x1b]11;rgb:0000/0000/0000\x1b\\",  # background colour
}
ESC, CTRL_C = "\x1b", "\x03"
WAIT_SECONDS = 60.0


class Terminal:
    """A program on a pseudo-terminal that answers its terminal queries as xterm would; what
    it drew, as text without escapes or spaces, since the last `mark`."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.screen = b""

    def mark(self) -> None:
        self.screen = b""

    def pump(self) -> bool:
        """Read what is there (up to 0.1 s); False once the program closed the terminal."""
        ready, _, _ = select.select([self.master], [], [], 0.1)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        for query, answer in TERMINAL_QUERIES.items():
            if query in data:
                os.write(self.master, answer)
        self.screen += data
        return bool(data)

    def text(self) -> str:
        return re.sub(r"\s+", "", ESCAPES.sub(b"", self.screen).decode(errors="replace"))

    def until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not ready():
            assert time.monotonic() < deadline, f"never {what}; screen: {self.text()[-2000:]}"
            assert self.pump(), f"the program exited before {what}; screen: {self.text()[-2000:]}"

    def shows(self, text: str) -> None:
        self.until(lambda: re.sub(r"\s+", "", text) in self.text(), f"showed {text!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def submit(self, prompt: str) -> None:
        """Type a prompt, and Enter once it is drawn (an Enter inside a burst of typed keys
        would be taken as part of a paste)."""
        self.mark()
        self.type(prompt)
        self.shows(prompt)
        self.type("\r")

    def quit(self) -> None:
        """Ctrl+C, and again once the TUI asks for it ("… again to quit"), until it exits: two
        typed in one burst were once taken as one under load, and the TUI was terminated."""
        deadline = time.monotonic() + WAIT_SECONDS
        while self.process.poll() is None and time.monotonic() < deadline:
            self.mark()
            self.type(CTRL_C)
            asked = time.monotonic() + 5.0
            while "againtoquit" not in self.text() and time.monotonic() < asked:
                if not self.pump():
                    return

    def close(self) -> int:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.process.poll() is None and time.monotonic() < deadline:
            self.pump()
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=30)
        os.close(self.master)
        return code
