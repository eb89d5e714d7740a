"""`agentmon serve` on its first start: when this machine holds agent history (Claude Code,
Codex, Gemini CLI, OpenClaw, Hermes) and a person is at the terminal, ask whether to import
it once the server is up; never import without asking."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from agentmon.importer.command import TOOL_READERS, import_history

UP_WAIT_S = 60.0


def history_on_this_machine(env: dict[str, str]) -> dict[str, int]:
    """Sessions (or files) found per tool, tools with none left out."""
    found = {}
    for name, reader in TOOL_READERS.items():
        try:
            count = len(reader.find(reader.roots(env), None))
        except OSError:
            continue
        if count:
            found[name] = count
    return found


def offer_import(
    database: Path,
    ingest_url: str,
    *,
    ask: Callable[[str], str] = input,
    interactive: bool | None = None,
    out: TextIO = sys.stderr,
) -> threading.Thread | None:
    """On a first start at a terminal with history found: ask, and on yes import it in the
    background once the gateway answers. The started thread, or None."""
    if interactive is None:
        interactive = sys.stdin.isatty() and out.isatty()
    if database.exists() or not interactive:
        return None
    found = history_on_this_machine(dict(os.environ))
    if not found:
        return None
    listed = ", ".join(f"{name}: {count}" for name, count in found.items())
    try:
        answer = ask(f"agentmon: this machine has agent history ({listed}). Import it? [Y/n] ")
    except EOFError:
        return None
    if answer.strip().lower() not in ("", "y", "yes"):
        print("agentmon: not imported (run `agentmon import` any time)", file=out)
        return None
    thread = threading.Thread(
        target=_import_when_up, args=(ingest_url, out), name="agentmon-import", daemon=True
    )
    thread.start()
    return thread


def _import_when_up(ingest_url: str, out: TextIO) -> None:
    deadline = time.monotonic() + UP_WAIT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{ingest_url}/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    summary = import_history("all", None, None, ingest_url, False, out)
    for line in summary.lines_of_text(dry_run=False):
        print(f"agentmon import: {line}", file=out)


def local_url(addr: str) -> str:
    """The URL of a listen address on this machine (`:8080` → http://127.0.0.1:8080)."""
    host, _, port = addr.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"
