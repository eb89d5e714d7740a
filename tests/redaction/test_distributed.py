"""Distributed mode: the ingest gateway redacts before publishing to JetStream, so neither
the stream, nor PostgreSQL (events and read models), nor the query API and its live feed
ever hold a secret."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from websockets.sync.client import connect

from tests.conftest import ServerProcess, free_ports, start_agentmon, wait_until

from .test_ingest_paths import EVERY_KIND, LiveFeed, api_text, assert_redacted
from .test_ingest_paths import envelope_with_every_sample as envelope

pytestmark = pytest.mark.services


def postgres_dump(dsn: str) -> str:
    """Every row of every table in the public schema, as text."""

    async def dump() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
            rows = []
            for table in tables:
                name = table["tablename"]
                rows += [r[0] for r in await conn.fetch(f'SELECT t::text FROM "{name}" t')]
            return "\n".join(rows)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, dump()).result()


def stream_dump(nats_url: str, stream: str) -> str:
    """Every message the JetStream stream holds."""

    async def dump() -> str:
        client = await nats.connect(nats_url)
        try:
            jetstream = client.jetstream()
            state = (await jetstream.stream_info(stream)).state
            messages = [
                await jetstream.get_msg(stream, seq)
                for seq in range(state.first_seq, state.last_seq + 1)
            ]
            return "\n".join((message.data or b"").decode() for message in messages)
        finally:
            await client.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, dump()).result()


def delete_stream(nats_url: str, stream: str) -> None:
    async def delete() -> None:
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().delete_stream(stream)
        except nats.js.errors.NotFoundError:
            pass
        finally:
            await client.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, delete()).result()


@pytest.fixture
def services(
    tmp_path: Path, nats_url: str, database_url: str, nats_names: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    patterns = tmp_path / "patterns"
    patterns.write_text("employee-id = \\bEMP-[0-9]{6}\\b\n")
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "AGENTMON_REDACT_PATTERNS": str(patterns),
        # a small stream: JetStream reserves each stream's limit from the server's storage
        "AGENTMON_NATS_MAX_BYTES": str(64 * 1024**2),
        **nats_names,
    }
    started: list[ServerProcess] = []

    def start(args: list[str], ports: dict[str, int], health: list[str] | None = None) -> None:
        log = tmp_path / f"{args[0]}.log"
        started.append(start_agentmon(args, ports, log, env, health=health))

    try:
        gateway, query, metrics = free_ports(3)
        start(["ingest-gateway", "--addr", f"127.0.0.1:{gateway}", "--otlp-addr", ""],
              {"ingest": gateway})  # fmt: skip
        start(["event-processor", "--metrics-addr", f"127.0.0.1:{metrics}"], {"metrics": metrics})
        start(["query-api", "--addr", f"127.0.0.1:{query}"], {"query": query})
        yield started[0], started[2]
    finally:
        for process in started:
            process.stop()
        delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])


def test_gateway_redacts_before_jetstream_and_postgres(
    services: tuple[ServerProcess, ServerProcess],
    database_url: str,
    nats_url: str,
    nats_names: dict[str, str],
) -> None:
    gateway, query = services
    session = f"dist-{uuid.uuid4()}"
    with connect(query.query_url.replace("http", "ws", 1) + "/v1/ws", max_size=None) as ws:
        live = LiveFeed(ws)
        answer = httpx.post(f"{gateway.ingest_url}/v1/events", json=[envelope(session)])
        assert answer.json() == {"accepted": 1, "rejected": []}
        assert_redacted(live.text_of(session, 1), EVERY_KIND, "the live feed")
    assert_redacted(api_text(query, session, 1), EVERY_KIND, "the query API")
    wait_until(lambda: session in postgres_dump(database_url), 20, "the event in PostgreSQL")
    assert_redacted(postgres_dump(database_url), EVERY_KIND, "PostgreSQL")
    assert_redacted(
        stream_dump(nats_url, nats_names["AGENTMON_NATS_STREAM"]), EVERY_KIND, "JetStream"
    )
