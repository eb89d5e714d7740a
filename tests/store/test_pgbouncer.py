"""The PostgreSQL store behind a real PgBouncer in transaction pooling mode: every transaction
may run on another server connection, so nothing may rely on session state (named prepared
statements, a temporary table made when the connection opened, a session advisory lock)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from tests.conftest import free_port, port_open

from agentmon.config import SettingError, Settings
from agentmon.events import Envelope, new_event
from agentmon.store import open_store
from agentmon.store.postgres import PostgresStore

SERVER_CONNECTIONS = 2


def _pgbouncer() -> str:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        message = "pgbouncer is not installed (Debian package pgbouncer)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def pgbouncer(postgres_server: str) -> Iterator[str]:
    """A PgBouncer in transaction pooling mode in front of the test PostgreSQL, with few server
    connections handed out in turn; the base DSN to reach it."""
    binary, port = _pgbouncer(), free_port()
    # its own directory in /tmp: pytest's tmp_path is not reachable by the postgres user
    tmp_path = Path(tempfile.mkdtemp(prefix="agentmon-pgbouncer-"))
    upstream = urlsplit(postgres_server)
    (tmp_path / "users.txt").write_text('"postgres" ""\n')
    config = tmp_path / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={upstream.hostname} port={upstream.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path / "users.txt"}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
server_round_robin = 1
max_client_conn = 200
logfile = {tmp_path / "pgbouncer.log"}
"""
    )
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:  # PgBouncer refuses to run as root
        shutil.chown(tmp_path, "postgres")
        for path in tmp_path.iterdir():
            shutil.chown(path, "postgres")
    process = subprocess.Popen([*as_postgres, binary, str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port):
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "pgbouncer did not start listening"
            time.sleep(0.05)
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _events(prefix: str, count: int) -> list[Envelope]:
    return [
        new_event("session.start", framework="codex", session_id=f"{prefix}-{i}")
        for i in range(count)
    ]


async def _advisory_locks(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    finally:
        await conn.close()


@asynccontextmanager
async def holding_a_server_connection(dsn: str) -> AsyncIterator[None]:
    """A transaction left open through PgBouncer: it keeps the server connection it runs on, so
    the next transaction of anyone else runs on another one."""
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1")
            yield
    finally:
        await conn.close()


async def test_the_store_writes_and_reads_through_transaction_pooling(
    pgbouncer: str, make_database: Callable[[], str]
) -> None:
    direct = make_database()
    pooled = f"{pgbouncer}{urlsplit(direct).path}"
    store = PostgresStore(pooled, statement_cache_size=0)
    await store.open()
    try:
        # the migration's lock is the transaction's: none is left on a pooled server connection
        assert await _advisory_locks(direct) == 0
        async with holding_a_server_connection(pooled):
            # on a server connection the store has not used before: the staging table is made
            # by the write's own transaction
            first = await store.write(_events("first", 50))
            rows = await store.fetch(
                "SELECT count(*) AS n FROM sessions WHERE framework = ?", ["codex"]
            )
        assert len(first.new_events) == 50 and rows[0]["n"] == 50
        batches = [_events(f"b{n}", 50) for n in range(6)]
        written = await asyncio.gather(*(store.write(batch) for batch in batches))
        assert sum(len(result.new_events) for result in written) == 300
        again = await store.write(batches[0])
        assert again.new_events == []  # redelivered: stored once
        rows = await store.fetch(
            "SELECT count(*) AS n FROM sessions WHERE framework = ?", ["codex"]
        )
        assert rows[0]["n"] == 350
    finally:
        await store.close()
    assert await _advisory_locks(direct) == 0


async def test_stores_starting_together_through_transaction_pooling_all_open(
    pgbouncer: str, make_database: Callable[[], str]
) -> None:
    """Several processes starting at once each run the migration check under one lock; a
    session lock taken on one server connection and released on another would be left behind
    and stop the next start."""
    direct = make_database()
    pooled = f"{pgbouncer}{urlsplit(direct).path}"
    stores = [PostgresStore(pooled, statement_cache_size=0, pool_size=2) for _ in range(4)]
    try:
        for _ in range(3):
            await asyncio.wait_for(asyncio.gather(*(s.open() for s in stores)), timeout=60)
            await asyncio.gather(*(s.close() for s in stores))
            assert await _advisory_locks(direct) == 0
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_prepared_statements_break_transaction_pooling_with_the_cache_on(
    pgbouncer: str, make_database: Callable[[], str]
) -> None:
    """Why the setting exists: asyncpg's named statements live on one server connection."""
    pooled = f"{pgbouncer}{urlsplit(make_database()).path}"
    store = PostgresStore(pooled, statement_cache_size=100)
    await store.open()
    try:
        query = "SELECT count(*) AS n FROM sessions WHERE framework = ?"
        await store.fetch(query, ["x"])  # prepared on the server connection it ran on
        async with holding_a_server_connection(pooled):
            with pytest.raises(asyncpg.PostgresError, match="prepared statement"):
                await store.fetch(query, ["x"])
    finally:
        await store.close()


def test_the_statement_cache_setting(
    make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", make_database())
    default = open_store(Settings.load(env_file=os.devnull))
    assert isinstance(default, PostgresStore) and default.statement_cache_size == 100
    monkeypatch.setenv("AGENTMON_PG_STATEMENT_CACHE_SIZE", "0")
    off = open_store(Settings.load(env_file=os.devnull))
    assert isinstance(off, PostgresStore) and off.statement_cache_size == 0
    for bad in ("-1", "lots", "1e3", "0x10"):
        monkeypatch.setenv("AGENTMON_PG_STATEMENT_CACHE_SIZE", bad)
        with pytest.raises(SettingError, match="AGENTMON_PG_STATEMENT_CACHE_SIZE"):
            Settings.load(env_file=os.devnull)
