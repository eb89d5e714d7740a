"""The processor: takes batches off the bus, stores them once, then tells the live feed.

`BatchWriter` is the part both modes share (the embedded in-process bus and the JetStream
consumer): one transaction per batch, metrics, and the hand-off of newly stored events.
`JetStreamProcessor` is the distributed consumer loop: pull many messages, decode, write in
one transaction, ack only after the commit; a message that can never be stored goes to the
dead-letter table with its reason and is acked so it never blocks the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from agentmon.events import Envelope, decode_many, ts_to_ms
from agentmon.metrics import (
    BATCH_EVENTS,
    DEAD_LETTERS,
    EVENTS_DUPLICATE,
    EVENTS_STORED,
    PROCESSOR_LAG_SECONDS,
    PROCESSOR_PENDING,
    STORE_WRITE_SECONDS,
)
from agentmon.store import Store

log = logging.getLogger("agentmon.processor")

StoredListener = Callable[[list[Envelope]], Any]


class BatchWriter:
    def __init__(self, store: Store, on_stored: StoredListener | None = None) -> None:
        self.store = store
        self.on_stored = on_stored

    async def write(self, events: list[Envelope]) -> list[Envelope]:
        started = time.perf_counter()
        result = await self.store.write(events)
        STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
        BATCH_EVENTS.observe(len(events))
        EVENTS_STORED.inc(len(result.new_events))
        EVENTS_DUPLICATE.inc(len(events) - len(result.new_events))
        if events:
            newest = max(e.event.ts for e in events)  # canonical timestamps sort as text
            PROCESSOR_LAG_SECONDS.set(max(0.0, time.time() - ts_to_ms(newest) / 1000))
        if self.on_stored and result.new_events:
            outcome = self.on_stored(result.new_events)
            if asyncio.iscoroutine(outcome):
                await outcome
        return result.new_events

    async def dead_letter(self, reason: str, data: bytes) -> None:
        log.error("dead-lettered a message (%d bytes): %s", len(data), reason)
        DEAD_LETTERS.inc()
        await self.store.dead_letter(reason, data)


def is_transient(exc: BaseException) -> bool:
    """Errors that say the store is unreachable now, not that the data is wrong."""
    if isinstance(exc, OSError | ConnectionError | asyncio.TimeoutError):
        return True
    name = type(exc).__name__
    return name in {
        "InterfaceError",
        "ConnectionDoesNotExistError",
        "PostgresConnectionError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "OperationalError",
    }


class JetStreamProcessor:
    def __init__(self, subscription: Any, writer: BatchWriter, fetch_batch: int = 64) -> None:
        self.subscription = subscription
        self.writer = writer
        self.fetch_batch = fetch_batch

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                messages = await self.subscription.fetch(self.fetch_batch, timeout=1.0)
            except TimeoutError:
                continue
            await self.handle(messages)

    async def handle(self, messages: list[Any]) -> None:
        decoded: list[tuple[Any, list[Envelope]]] = []
        for message in messages:
            try:
                decoded.append((message, decode_many(message.data)))
            except Exception as exc:
                await self.writer.dead_letter(f"undecodable message: {exc}", message.data)
                await message.ack()
        if not decoded:
            return
        self._note_pending(messages[-1])
        try:
            await self.writer.write([event for _, events in decoded for event in events])
        except Exception as exc:
            if is_transient(exc):
                log.warning("store unavailable, will retry: %s", exc)
                for message, _ in decoded:
                    await message.nak(delay=2)
                await asyncio.sleep(1)
                return
            await self._isolate(decoded, exc)
            return
        for message, _ in decoded:
            await message.ack()

    async def _isolate(self, decoded: list[tuple[Any, list[Envelope]]], exc: Exception) -> None:
        """A batch failed on its data: store message by message, dead-letter the bad ones."""
        log.warning("batch write failed (%s); retrying message by message", exc)
        for message, events in decoded:
            try:
                await self.writer.write(events)
            except Exception as single:
                if is_transient(single):
                    await message.nak(delay=2)
                    continue
                await self.writer.dead_letter(f"cannot store: {single}", message.data)
            await message.ack()

    @staticmethod
    def _note_pending(message: Any) -> None:
        metadata = getattr(message, "metadata", None)
        pending = getattr(metadata, "num_pending", None)
        if pending is not None:
            PROCESSOR_PENDING.set(pending)
