"""bench/store_floor.py on both stores: the statements it records from a store write, replayed
into a twin store, leave the twin holding exactly what the write left, so the floor it times
is the cost of agentmon's real write and not of a lighter one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench import store_floor
from bench.bench_ingest import make_bodies, parse_all

from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.search import DOCS_TABLE
from agentmon.store.sqlite import SQLiteStore
from agentmon.store.tables import READ_MODELS


async def _contents(store: Store) -> dict[str, list[dict[str, Any]]]:
    tables = [table.name for table in READ_MODELS] + [DOCS_TABLE]
    contents = {
        name: await store.fetch(f"SELECT * FROM {name} ORDER BY 1, 2, 3", []) for name in tables
    }
    contents["events"] = await store.fetch(
        "SELECT event_id, type, session_id, run_id, span_id FROM events ORDER BY event_id", []
    )
    return contents


@pytest.fixture
async def twin(store: Store, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if isinstance(store, SQLiteStore):
        other: Store = SQLiteStore(tmp_path / "twin.db")
    else:
        make_database: Callable[[], str] = request.getfixturevalue("make_migrated_database")
        other = PostgresStore(make_database())
    await other.open()
    yield other
    await other.close()


async def test_replayed_statements_leave_the_twin_as_the_write_left_the_store(
    store: Store, twin: Store
) -> None:
    earlier, later = parse_all(make_bodies(6, 50)), parse_all(make_bodies(6, 50))
    for group in store_floor.groups_of(earlier, 100):
        await store.write(group)
        await twin.write(group)
    # a second sighting of events already stored: the replay must skip them as the write did
    groups = list(store_floor.groups_of(later + earlier[:30], 100))

    floor = await store_floor.measure(store, twin, groups)

    assert floor.events == len(later) + 30
    assert floor.wall_s > 0 and floor.client_cpu_s >= 0
    assert (floor.engine_cpu_s is None) == isinstance(store, SQLiteStore)
    written, replayed = await _contents(store), await _contents(twin)
    assert len(written["events"]) == len(earlier) + len(later)
    assert len(written["sessions"]) == 12 and written["spans"] and written[DOCS_TABLE]
    for table, rows in written.items():
        assert replayed[table] == rows, table


async def test_the_store_writes_through_its_own_connection_again_after_recording(
    store: Store, twin: Store
) -> None:
    events = parse_all(make_bodies(2, 20))
    await store_floor.measure(store, twin, [events[:20]])
    await store.write(events[20:])  # not recorded: the recorder is gone

    assert len(await store.fetch("SELECT event_id FROM events", [])) == 40
