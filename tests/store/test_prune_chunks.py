"""Retention deletes in small chunks (one short transaction each) on both stores."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentmon.events import new_event
from agentmon.store import base
from agentmon.store import sqlite as sqlite_store
from agentmon.store.base import Store
from agentmon.store.sqlite import SQLiteStore


async def test_retention_deletes_in_chunks_and_keeps_what_is_recent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=10)
    await store.write(
        [
            new_event("span.start", framework="f", session_id=f"old{i}", ts=old, span_id=f"o{i}")
            for i in range(25)
        ]
        + [new_event("session.start", framework="f", session_id=f"new{i}") for i in range(5)]
    )
    monkeypatch.setattr(base, "PRUNE_CHUNK_ROWS", 4)
    chunks: list[int] = []
    execute = store.execute

    async def counted(sql: str, params: list[Any]) -> int:
        changed = await execute(sql, params)
        if sql.startswith("DELETE FROM events "):
            chunks.append(changed)
        return changed

    monkeypatch.setattr(store, "execute", counted)
    deleted = await store.prune(int((now - timedelta(days=7)).timestamp() * 1000))
    assert deleted["events"] == 25 and deleted["sessions"] == 25
    assert max(chunks) == 4 and len(chunks) == 7  # 6 full chunks, then the last 1
    assert await store.count_events() == 5


async def test_sqlite_gives_space_freed_by_retention_back_to_the_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "VACUUM_INTERVAL_S", 0.2)
    sqlite = SQLiteStore(tmp_path / "vacuum.db")
    await sqlite.open()
    try:
        old = datetime.now(UTC) - timedelta(days=10)
        big = {"kind": "tool", "name": "Bash", "output": "x" * 2000}
        await sqlite.write(
            [
                new_event(
                    "span.end", framework="f", session_id="s", span_id=f"o{i}", ts=old, payload=big
                )
                for i in range(3000)
            ]
        )
        await sqlite.prune(int((datetime.now(UTC) - timedelta(days=7)).timestamp() * 1000))

        def free_pages() -> int:
            with sqlite3.connect(tmp_path / "vacuum.db") as conn:
                return int(conn.execute("PRAGMA freelist_count").fetchone()[0])

        deadline = time.monotonic() + 15
        while free_pages() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert free_pages() == 0
    finally:
        await sqlite.close()
