"""A real ingest gateway flooded past what it can handle at once: it refuses the excess at
once with 503 and Retry-After (before reading a body) rather than taking every request and
answering all of them slowly, and every batch it acknowledged is stored exactly once while
no refused one is stored at all. Real NATS, real PostgreSQL, nothing timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import msgspec
import pytest
from tests.bus.streams import delete_stream
from tests.conftest import ServerProcess, free_port, start_agentmon, wait_until

from agentmon.events import new_event, to_dict
from agentmon.ingest.admission import MAX_IN_FLIGHT_REQUESTS

pytestmark = pytest.mark.services

CONNECTIONS = 4 * MAX_IN_FLIGHT_REQUESTS
BATCH = 100
MAX_WAVES = 20


@dataclass
class Outcomes:
    acknowledged: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    retry_after: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    other: list[int] = field(default_factory=list)


class RawConnection:
    """A keep-alive HTTP/1.1 connection that writes a whole request at once, so a wave of
    them reaches the gateway together (an HTTP client library would pace them)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def send(self, body: bytes) -> None:
        head = (
            "POST /v1/events HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)

    async def answer(self) -> tuple[int, dict[str, str], bytes]:
        status = int((await self.reader.readuntil(b"\r\n")).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body


def fresh_batch() -> tuple[list[str], bytes]:
    events = [to_dict(new_event("span.start", framework="pytest")) for _ in range(BATCH)]
    return [event["event"]["id"] for event in events], msgspec.json.encode(events)


async def flood(url: str) -> Outcomes:
    """Waves of one batch on each of CONNECTIONS connections, all written before any answer
    is read, until a wave has been refused in part (or MAX_WAVES waves were sent)."""
    host, port = url.removeprefix("http://").split(":")
    connections = [
        RawConnection(*await asyncio.open_connection(host, int(port))) for _ in range(CONNECTIONS)
    ]
    outcomes = Outcomes()
    try:
        for _ in range(MAX_WAVES):
            wave = [fresh_batch() for _ in connections]
            for connection, (_, body) in zip(connections, wave, strict=True):
                connection.send(body)
            for connection, (ids, _) in zip(connections, wave, strict=True):
                record(outcomes, ids, *await connection.answer())
            if outcomes.refused:
                break
    finally:
        for connection in connections:
            connection.writer.close()
    return outcomes


def record(
    outcomes: Outcomes, ids: list[str], status: int, headers: dict[str, str], body: bytes
) -> None:
    if status == 200:
        assert msgspec.json.decode(body)["accepted"] == BATCH
        outcomes.acknowledged.update(ids)
    elif status == 503:
        outcomes.refused.update(ids)
        outcomes.retry_after.append(headers.get("retry-after", ""))
        outcomes.reasons.append(msgspec.json.decode(body)["error"])
    else:
        outcomes.other.append(status)


def stored_ids(dsn: str) -> list[str]:
    async def fetch() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            return [str(row[0]) for row in await conn.fetch("SELECT event_id FROM events")]
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result()


@pytest.fixture
def services(
    tmp_path: Path, nats_url: str, database_url: str, nats_names: dict[str, str]
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    env = {"NATS_URL": nats_url, "DATABASE_URL": database_url, **nats_names}
    port = free_port()
    gateway_args = ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""]
    gateway = start_agentmon(gateway_args, {"ingest": port}, tmp_path / "gateway.log", env)
    yield gateway, env
    gateway.stop()
    delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])


def test_a_flooded_gateway_refuses_the_excess_with_503_and_loses_nothing_it_acknowledged(
    services: tuple[ServerProcess, dict[str, str]], tmp_path: Path, database_url: str
) -> None:
    gateway, env = services
    outcomes = asyncio.run(flood(gateway.ingest_url))
    assert outcomes.other == []
    assert outcomes.refused, f"no 503 in {MAX_WAVES} waves of {CONNECTIONS} batches"
    assert outcomes.acknowledged
    assert all(value.isdigit() and int(value) >= 1 for value in outcomes.retry_after)
    assert all("retry shortly" in reason for reason in outcomes.reasons)
    metrics = free_port()
    processor = start_agentmon(
        ["event-processor", "--metrics-addr", f"127.0.0.1:{metrics}"],
        {"metrics": metrics},
        tmp_path / "processor.log",
        env,
        health=[],
    )
    try:
        wanted = len(outcomes.acknowledged)
        wait_until(lambda: len(stored_ids(database_url)) >= wanted, 120, "acknowledged stored")
        stored = stored_ids(database_url)
    finally:
        processor.stop()
    assert sorted(stored) == sorted(outcomes.acknowledged)  # each once, nothing refused
    assert not outcomes.refused & set(stored)
