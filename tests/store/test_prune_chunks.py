"""Retention deletes in small chunks (one short transaction each) on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentmon.events import new_event
from agentmon.store import base
from agentmon.store.base import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "prune.db")
    else:
        make_database: Callable[[], str] = request.getfixturevalue("make_database")
        opened = PostgresStore(make_database())
    await opened.open()
    yield opened
    await opened.close()


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
