"""Adapters raise StoreUnavailable when the database, not the data, is at fault, and the
embedded writer then answers 503 (nothing dead-lettered) until the store is back."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from agentmon.bus.local import LocalBus
from agentmon.events import new_event
from agentmon.intake import IntakeUnavailable
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.store import StoreUnavailable
from agentmon.store.postgres import PostgresStore
from agentmon.store.sqlite import SQLiteStore


def events(count: int = 3) -> list:
    return [new_event("session.start", framework="t", session_id=f"s{i}") for i in range(count)]


async def test_sqlite_locked_is_unavailable_and_the_embedded_writer_answers_503(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "agentmon.db")
    await store.open()
    await store.execute("PRAGMA busy_timeout=50", [])
    bus = LocalBus()
    writer = asyncio.create_task(EmbeddedWriter(bus, BatchWriter(store)).run())
    locker = sqlite3.connect(tmp_path / "agentmon.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable, match="locked"):
            await store.write(events())
        with pytest.raises(IntakeUnavailable):
            await bus.accept(events())
        assert (await bus.health())["bus"].startswith("error:")
        locker.execute("ROLLBACK")
        await bus.accept(events())
        assert await bus.health() == {"bus": "ok"}
        letters = await store.fetch("SELECT count(*) AS n FROM dead_letters", [])
        assert letters == [{"n": 0}]
    finally:
        locker.close()
        writer.cancel()
        await store.close()


class CuttableProxy:
    """A TCP proxy to PostgreSQL whose connections and listener can be cut, as a network
    failure or a database host going away would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.streams: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.streams += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for stream in self.streams:
            stream.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@pytest.mark.services
async def test_postgres_unreachable_is_unavailable(make_database: Callable[[], str]) -> None:
    dsn = urlsplit(make_database())
    proxy = CuttableProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432))
    await proxy.start()
    netloc = f"{dsn.username}@127.0.0.1:{proxy.port}"
    store = PostgresStore(urlunsplit(dsn._replace(netloc=netloc)), pool_size=1)
    await store.open()
    try:
        assert len((await store.write(events())).new_events) == 3
        proxy.cut()
        await asyncio.sleep(0.2)
        with pytest.raises(StoreUnavailable):
            await store.write(events())
        with pytest.raises(StoreUnavailable):
            await store.dead_letter("reason", b"data")
    finally:
        await store.close()
