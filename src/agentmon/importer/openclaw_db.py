"""OpenClaw's history for ``agentmon import openclaw``: the JSONL transcripts of older
versions and the SQLite database OpenClaw 2026.9 keeps them in instead, read-only
(``<state>/agents/<agentId>/agent/openclaw-agent.sqlite``: table ``transcript_events``, one
transcript entry per row as ``event_json``, in ``seq`` order; ``created_at`` in ms). The
entries replay as the files' do (`openclaw_history.replay_records`). A sub-agent's session
(``sessions_spawn``) names its parent's key in ``session_windows.parent_session_key``: the
parent is the session that key had when the child was created."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from agentmon.importer.databases import DatabaseSession, open_read_only
from agentmon.integrations import openclaw_history
from agentmon.integrations.claude_history import QUIET_SECONDS, SessionImport, file_size

DATABASE_NAME = "openclaw-agent.sqlite"


OpenClawSession = DatabaseSession


History = Path | OpenClawSession


def _databases(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.name == DATABASE_NAME else []
    return sorted(p for p in root.glob(f"agents/*/agent/{DATABASE_NAME}") if p.is_file())


def find_history(roots: list[Path], since: float | None) -> list[History]:
    """Every transcript file and every session of every database (written since `since`)."""
    found: list[History] = list(openclaw_history.find_transcripts(roots, since))
    for root in roots:
        for database in _databases(root):
            found += _sessions(database, since)
    return found


def _sessions(database: Path, since: float | None) -> list[OpenClawSession]:
    try:
        with closing(open_read_only(database)) as conn:
            rows = conn.execute(
                "SELECT session_id FROM transcript_events GROUP BY session_id "
                "HAVING max(created_at) >= ? ORDER BY min(created_at), session_id",
                [(since or 0) * 1000],
            ).fetchall()
    except sqlite3.DatabaseError as exc:  # not OpenClaw's database, or not a database
        print(f"agentmon import: {database}: not read ({exc})", file=sys.stderr)
        return []
    return [OpenClawSession(database, str(session_id)) for (session_id,) in rows]


def history_size(item: History) -> int:
    return file_size(item) if isinstance(item, Path) else 1


def import_history(item: History, source: dict[str, str]) -> SessionImport | None:
    if isinstance(item, Path):
        return openclaw_history.import_transcript(item, source)
    with closing(open_read_only(item.database)) as conn:
        rows = conn.execute(
            "SELECT event_json, created_at FROM transcript_events WHERE session_id = ? "
            "ORDER BY seq",
            [item.session_id],
        ).fetchall()
        parent = _parent_session(conn, item.session_id)
    records: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for text, _created in rows:
        record = _entry(text)
        if isinstance(record, str):
            skipped[record] = skipped.get(record, 0) + 1
        else:
            records.append(record)
    last = max((created for _text, created in rows if isinstance(created, int)), default=0)
    ended = time.time() - last / 1000 > QUIET_SECONDS
    return openclaw_history.replay_records(
        records, skipped, source, ended=ended, parent_session_id=parent
    )


_PARENT = (
    "SELECT parent.session_id FROM session_windows child JOIN session_windows parent "
    "ON parent.session_key = child.parent_session_key AND parent.created_at <= child.created_at "
    "WHERE child.session_id = ? ORDER BY parent.created_at DESC LIMIT 1"
)


def _parent_session(conn: sqlite3.Connection, session_id: str) -> str | None:
    """The session that spawned this one, when OpenClaw recorded it (older databases have
    no ``session_windows``)."""
    try:
        row = conn.execute(_PARENT, [session_id]).fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _entry(text: object) -> dict[str, Any] | str:
    """One row's entry, or why it was skipped."""
    if not isinstance(text, str):
        return "compressed entry (zstd) not read"
    try:
        record = json.loads(text)
    except ValueError:
        return "not a JSON object"
    return record if isinstance(record, dict) else "not a JSON object"
