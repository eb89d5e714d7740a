"""A real store of each kind, opened for one test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "contract.db")
    else:
        make_database: Callable[[], str] = request.getfixturevalue("make_migrated_database")
        opened = PostgresStore(make_database())
    await opened.open()
    yield opened
    await opened.close()
