"""What the importers of tools that keep their history in SQLite share: a session named by
its database and id, and the database opened read-only (the tool may be writing to it)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DatabaseSession:
    database: Path
    session_id: str

    def __str__(self) -> str:
        return f"{self.database} (session {self.session_id})"


def open_read_only(database: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
