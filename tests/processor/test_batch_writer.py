"""BatchWriter.write_isolating against a real SQLite store whose trigger refuses some
events: every other event is stored, each refused one dead-lettered alone."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.processor.test_isolation import MARK, SQLITE_TRIGGER

from agentmon.events import new_event
from agentmon.processor import BatchWriter
from agentmon.store.sqlite import SQLiteStore


async def test_several_bad_events_in_one_batch_are_each_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "agentmon.db"
    store = SQLiteStore(path)
    await store.open()
    with sqlite3.connect(path) as conn:
        conn.execute(SQLITE_TRIGGER)
    announced: list[str] = []
    writer = BatchWriter(store, on_stored=lambda events: announced.extend(e.id for e in events))
    batch = [
        new_event("error", framework="t", session_id=f"s{i}", payload={"message": text})
        for i, text in enumerate(["ok", MARK, "ok", "ok", MARK, "ok", "ok", "ok", "ok", MARK])
    ]
    bad = {e.id for e in batch if e.payload["message"] == MARK}
    try:
        stored = await writer.write_isolating(batch)
        assert {e.id for e in stored} == {e.id for e in batch} - bad
        assert set(announced) == {e.id for e in stored}
        letters = await store.fetch("SELECT reason, data FROM dead_letters", [])
        assert {json.loads(row["data"])["event"]["id"] for row in letters} == bad
        assert all("test trigger refuses" in row["reason"] for row in letters)
        assert await writer.write_isolating(batch) == []  # a redelivery stores nothing twice
    finally:
        await store.close()
