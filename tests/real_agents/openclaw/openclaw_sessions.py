"""OpenClaw's own record of its sessions, read from an agent's database under a test's HOME
(`~/.openclaw/agents/<agent>/agent/openclaw-agent.sqlite`, opened read-only)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Literal

# the columns of `session_windows` a test looks a session up by
WindowColumn = Literal["session_key", "parent_session_key"]


def agent_database(home: Path, agent: str = "main") -> Path:
    return home / ".openclaw" / "agents" / agent / "agent" / "openclaw-agent.sqlite"


def read_rows(home: Path, sql: str, params: list[Any], agent: str = "main") -> list[Any]:
    """The rows `sql` selects from `agent`'s database."""
    with sqlite3.connect(f"{agent_database(home, agent).as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(sql, params).fetchall()
    conn.close()  # the context manager only ends the transaction
    return rows


def window_session_id(
    home: Path, column: WindowColumn, value: str, agent: str = "main", wait: float = 0
) -> str:
    """The id of the one session OpenClaw has in `session_windows` whose `column` is
    `value` (a session key names the session open for it, a parent key the session spawned
    from it). With `wait`, keeps looking that many seconds for OpenClaw to open it."""
    deadline = time.monotonic() + wait
    while True:
        rows = []
        if agent_database(home, agent).exists():
            sql = f"SELECT session_id FROM session_windows WHERE {column} = ?"
            rows = read_rows(home, sql, [value], agent)
        if rows or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 1, f"OpenClaw's sessions of agent {agent} with {column} {value}: {rows}"
    return str(rows[0][0])
