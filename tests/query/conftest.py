"""The query app in process over a real store (SQLite, and PostgreSQL, migrated already):
called through httpx's ASGI transport, or served by uvicorn in a thread for fuzzing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from agentmon.events import Envelope
from agentmon.live import LiveHub
from agentmon.query.app import create_query_app
from agentmon.store import Store
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore
from tests.conftest import free_port, wait_until
from tests.store.test_contract import conversation, other_sessions


@dataclass
class QueryApp:
    app: FastAPI
    store: Store
    client: httpx.AsyncClient


@dataclass
class ServedQuery:
    url: str
    app: FastAPI


def seed_events() -> list[Envelope]:
    return conversation() + other_sessions()


def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store of the kind the fixture is parametrized with; not opened yet."""
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "query.db")
    return PostgresStore(request.getfixturevalue("make_migrated_database")())


@pytest.fixture(params=["sqlite", "postgres"])
async def query(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QueryApp]:
    store = new_store(request, tmp_path)
    await store.open()
    app = create_query_app(store, LiveHub())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        yield QueryApp(app, store, client)
    await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def served_query(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedQuery]:
    """The query app over HTTP on a seeded store; the store opens on uvicorn's own loop."""
    store = new_store(request, tmp_path)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        await store.write(seed_events())
        yield
        await store.close()

    app = create_query_app(store, LiveHub())
    app.router.lifespan_context = lifespan
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "the query app to start")
    yield ServedQuery(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(30)
