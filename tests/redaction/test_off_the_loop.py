"""A big batch is redacted in a worker thread: the event loop (and with it /healthz and
every other request) keeps running meanwhile, and the events still reach the real store
redacted, each exactly once; small batches are redacted in place, as before."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentmon.bus.local import LocalBus
from agentmon.config import Settings
from agentmon.events import Envelope, new_event, to_dict
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.redaction import OFFLOAD_BYTES, RedactingIntake, build_redactor
from agentmon.store import Store, open_store
from tests.conftest import ServerProcess

from .samples import payload_with_every_sample, samples


def secret_events(count: int) -> list[Envelope]:
    found = samples()
    session = str(uuid.uuid4())
    return [
        new_event(
            "span.end",
            framework="redaction-test",
            session_id=session,
            run_id=f"{session}-run",
            span_id=str(uuid.uuid4()),
            payload=payload_with_every_sample(found),
        )
        for _ in range(count)
    ]


@contextlib.asynccontextmanager
async def redacting_store(tmp_path: Path) -> AsyncIterator[tuple[RedactingIntake, Store]]:
    """The embedded write path: redaction, the local bus, its writer and a SQLite store."""
    store = open_store(Settings(data_dir=tmp_path / "data"))
    await store.open()
    bus = LocalBus()
    writer = asyncio.create_task(EmbeddedWriter(bus, BatchWriter(store)).run())
    try:
        yield RedactingIntake(bus, build_redactor()), store
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await store.close()


SECRET = samples()[0].secret  # made once: regenerating it in the polling loop below held the
# GIL so long that the redacting thread starved and the test timed out on a loaded machine


def holds_secret(event: Envelope) -> bool:
    return SECRET in str(event.payload)


async def test_a_big_batch_leaves_the_event_loop_free_while_it_is_redacted(
    tmp_path: Path,
) -> None:
    events = secret_events(400)
    async with redacting_store(tmp_path) as (intake, store):
        accepting = asyncio.create_task(intake.accept(events))
        seen_midway = 0
        while not accepting.done():
            # the loop runs while the first event is redacted and the last one not yet:
            # redaction on the loop itself would finish before this could ever be seen
            if not holds_secret(events[0]) and holds_secret(events[-1]):
                seen_midway += 1
            # a short sleep, not sleep(0): a loop that spins keeps the GIL from the redacting
            # and writing threads (this test once took 300 s on a loaded machine)
            await asyncio.sleep(0.002)
        await accepting
        assert seen_midway > 0
        rows = await store.fetch(
            "SELECT payload FROM events WHERE source_framework = ?", ["redaction-test"]
        )
        assert len(rows) == len(events) == len({e.id for e in events})
        assert not any(sample.secret in row["payload"] for row in rows for sample in samples())


async def test_a_small_batch_is_redacted_in_place(tmp_path: Path) -> None:
    events = secret_events(1)
    assert len(str(events[0].payload)) < OFFLOAD_BYTES
    async with redacting_store(tmp_path) as (intake, store):
        accepting = asyncio.create_task(intake.accept(events))
        await asyncio.sleep(0)  # the task ran up to its first wait: the bus, after redaction
        assert not holds_secret(events[0])
        await accepting
        rows = await store.fetch("SELECT payload FROM events", [])
        assert len(rows) == 1 and "[redacted:" in rows[0]["payload"]


@pytest.mark.timeout(120)
def test_healthz_answers_while_a_big_post_is_redacted(embedded_server: ServerProcess) -> None:
    """Against a real server: health checks keep being answered during a big POST (the
    test above shows why: the loop runs while the batch is redacted)."""
    body = [to_dict(event) for event in secret_events(1500)]
    answered_during = 0
    with httpx.Client(timeout=60) as client:

        async def run() -> int:
            nonlocal answered_during
            loop = asyncio.get_running_loop()
            post = loop.run_in_executor(
                None,
                lambda: client.post(f"{embedded_server.ingest_url}/v1/events", json=body),
            )
            while not post.done():
                health = await loop.run_in_executor(
                    None, lambda: client.get(f"{embedded_server.ingest_url}/healthz")
                )
                if not post.done() and health.status_code == 200:
                    answered_during += 1
            return (await post).status_code

        status = asyncio.run(run())
    assert status == 200
    assert answered_during >= 3
