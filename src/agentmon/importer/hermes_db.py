"""Hermes Agent's SQLite state for ``agentmon import hermes``, read-only: which ended sessions
there are, and one session's rows (the replay into events lives in
``agentmon.integrations.hermes_history``; producers never import sqlite3)."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from agentmon.importer.databases import DatabaseSession, open_read_only
from agentmon.integrations.claude_history import SessionImport
from agentmon.integrations.hermes import hooks_reported_usage
from agentmon.integrations.hermes_history import Row, replay_session

HermesSession = DatabaseSession


def _databases(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in [root / "state.db", *root.glob("profiles/*/state.db")] if p.is_file())


def _open(database: Path) -> sqlite3.Connection:
    conn = open_read_only(database)
    conn.row_factory = sqlite3.Row
    return conn


def find_sessions(roots: list[Path], since: float | None) -> list[HermesSession]:
    """The ended sessions of every database (active since `since`, when given)."""
    found = []
    for root in roots:
        for database in _databases(root):
            try:
                with closing(_open(database)) as conn:
                    rows = conn.execute(
                        # an ended session's last activity is its end (Hermes 0.19 keeps
                        # no last_activity_at column)
                        "SELECT id FROM sessions WHERE ended_at IS NOT NULL "
                        "AND ended_at >= ? ORDER BY started_at, id",
                        [since or 0],
                    ).fetchall()
            except sqlite3.DatabaseError as exc:  # not Hermes' database, or not a database
                print(f"agentmon import: {database}: not read ({exc})", file=sys.stderr)
                continue
            found += [HermesSession(database, str(row["id"])) for row in rows]
    return found


def database_size(session: HermesSession) -> int:
    return 1


def import_session(session: HermesSession, source: dict[str, str]) -> SessionImport | None:
    with closing(_open(session.database)) as conn:
        row = conn.execute("SELECT * FROM sessions WHERE id = ?", [session.session_id]).fetchone()
        if row is None:
            return None
        messages = conn.execute(
            "SELECT * FROM messages WHERE session_id = ? AND coalesce(active, 1) <> 0 "
            "ORDER BY timestamp, id",
            [session.session_id],
        ).fetchall()
        models = list(_model_usage(conn, session.session_id))
    reported = hooks_reported_usage(session.session_id)
    return replay_session(dict(row), [dict(m) for m in messages], models, source, reported)


def _model_usage(conn: sqlite3.Connection, session_id: str) -> Iterator[Row]:
    try:
        rows = conn.execute(
            "SELECT * FROM session_model_usage WHERE session_id = ?", [session_id]
        ).fetchall()
    except sqlite3.OperationalError:  # an older schema without the table
        return
    for row in rows:
        yield dict(row)
