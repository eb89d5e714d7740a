"""Backpressure: when the store or the bus cannot keep up, ingest answers 503 with Retry-After
at a bounded backlog instead of queueing without limit. Real SQLite (held by another writer),
real NATS; nothing here is timed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentmon.bus.local import LocalBus
from agentmon.bus.nats import NatsBus
from agentmon.config import Settings
from agentmon.events import new_event, to_dict
from agentmon.ingest import create_ingest_app
from agentmon.intake import IntakeUnavailable
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.store.sqlite import SQLiteStore

JSON = {"content-type": "application/json"}
BATCH = 100


def batch() -> str:
    return json.dumps(
        [to_dict(new_event("span.start", framework="test", session_id="s")) for _ in range(BATCH)]
    )


async def wait_for(check: Any, what: str) -> None:
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "agentmon.db")
    await opened.open()
    yield opened
    await opened.close()


async def test_a_stalled_store_fills_the_bounded_queue_then_ingest_answers_503(
    store: SQLiteStore, tmp_path: Path
) -> None:
    bus = LocalBus(max_pending_events=3 * BATCH, max_batch=BATCH)
    writer = asyncio.create_task(EmbeddedWriter(bus, BatchWriter(store)).run())
    blocker = sqlite3.connect(tmp_path / "agentmon.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database: the store stalls
    transport = httpx.ASGITransport(app=create_ingest_app(bus))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
            waiting = [
                asyncio.create_task(client.post("/v1/events", content=batch(), headers=JSON))
                for _ in range(3)
            ]
            await wait_for(lambda: bus.pending == 3 * BATCH, "three batches queued")
            refused = await client.post("/v1/events", content=batch(), headers=JSON)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) >= 1
            assert "queue is full" in refused.json()["error"]
            assert bus.pending == 3 * BATCH  # the refused batch took no place in the queue
            blocker.execute("ROLLBACK")  # the store recovers: every waiting caller is answered
            answers = await asyncio.gather(*waiting)
            assert [answer.status_code for answer in answers] == [200, 200, 200]
            again = await client.post("/v1/events", content=batch(), headers=JSON)
            assert again.status_code == 200
        assert bus.pending == 0
        stored = await store.fetch("SELECT count(*) AS n FROM events", [])
        assert stored[0]["n"] == 4 * BATCH
    finally:
        blocker.close()
        writer.cancel()


@pytest.mark.services
async def test_the_gateway_refuses_beyond_its_in_flight_bound_and_publishes_the_rest(
    nats_url: str, nats_names: dict[str, str]
) -> None:
    bus = NatsBus(Settings.load({"nats_url": nats_url, **_lower(nats_names)}, env_file=""))
    await bus.connect()
    try:
        bus.max_in_flight_events = 2 * BATCH
        events = [new_event("span.start", framework="test") for _ in range(BATCH)]
        outcomes = await asyncio.gather(
            *(bus.accept(list(events)) for _ in range(3)), return_exceptions=True
        )
        refused = [o for o in outcomes if isinstance(o, IntakeUnavailable)]
        assert len(refused) == 1 and refused[0].retry_after >= 1
        assert "waiting for JetStream" in str(refused[0])
        assert outcomes.count(None) == 2
        await bus.accept(events)  # the acks came back: room again
        info = await bus.js.stream_info(bus.stream)
        assert info.state.messages == 1  # one message, published three times, deduplicated
    finally:
        await bus.close()


def _lower(names: dict[str, str]) -> dict[str, str]:
    """The fixture's environment names as settings fields."""
    fields = {"NATS_TOPIC": "nats_topic", "AGENTMON_NATS_STREAM": "nats_stream"}
    fields["AGENTMON_NATS_CONSUMER"] = "nats_consumer"
    return {fields[name]: value for name, value in names.items()}
