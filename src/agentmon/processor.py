"""The processor: takes batches off the bus, stores them once, then tells the live feed.

`BatchWriter` is the part both modes share (the embedded in-process bus and the JetStream
consumer): one transaction per batch, metrics, the hand-off of newly stored events, and
isolation: a batch the store refuses is split until every storable event is stored and
each event it cannot hold is dead-lettered on its own, with its reason.
`EmbeddedWriter` drains the embedded bus with group commit. `JetStreamProcessor` is the
distributed consumer loop: pull many messages, decode, write in one transaction, ack only
after the commit. `StoreUnavailable` (the database, not the data, is at fault) is never
isolated: the embedded caller gets 503, a JetStream message is redelivered later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from agentmon.bus.local import LocalBus
from agentmon.events import Envelope, decode_many, encode, ts_to_ms
from agentmon.metrics import (
    BATCH_EVENTS,
    DEAD_LETTERS,
    EVENTS_DUPLICATE,
    EVENTS_STORED,
    PROCESSOR_LAG_SECONDS,
    PROCESSOR_PENDING,
    STORE_WRITE_SECONDS,
    count_model_calls,
)
from agentmon.store import Store, StoreUnavailable

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
        count_model_calls(result.model_calls)
        if events:
            newest = max(e.event.ts for e in events)  # canonical timestamps sort as text
            PROCESSOR_LAG_SECONDS.set(max(0.0, time.time() - ts_to_ms(newest) / 1000))
        if self.on_stored and result.new_events:
            outcome = self.on_stored(result.new_events)
            if asyncio.iscoroutine(outcome):
                await outcome
        return result.new_events

    async def write_isolating(self, events: list[Envelope]) -> list[Envelope]:
        """Write `events`; if the store refuses them for their data, bisect until every
        storable event is stored and each one it cannot hold is dead-lettered alone.
        StoreUnavailable passes through: nothing is set aside for a store that is down."""
        try:
            return await self.write(events)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if len(events) == 1:
                reason = f"cannot store event {events[0].event.id!r}: {exc}"
                await self.dead_letter(reason, _event_bytes(events[0]))
                return []
            log.warning("%d events failed to store (%s); isolating the bad ones", len(events), exc)
        middle = len(events) // 2
        first = await self.write_isolating(events[:middle])
        return first + await self.write_isolating(events[middle:])

    async def dead_letter(self, reason: str, data: bytes) -> None:
        log.error("dead-lettered %d bytes: %s", len(data), reason)
        DEAD_LETTERS.inc()
        # a driver's message may quote the value it refused, NUL and all
        await self.store.dead_letter(reason.replace("\x00", "\\u0000"), data)


def _event_bytes(event: Envelope) -> bytes:
    try:
        return encode(event)
    except Exception:  # what cannot be stored may not encode either; keep what can be read
        return repr(event).encode("utf-8", "backslashreplace")


class EmbeddedWriter:
    """Drains the embedded bus: one transaction per group of waiting batches (group commit),
    every caller answered once its events are committed (or dead-lettered, if the store
    cannot hold one of them: a bad event never fails its neighbours)."""

    def __init__(self, bus: LocalBus, writer: BatchWriter) -> None:
        self.bus = bus
        self.writer = writer

    async def run(self) -> None:
        """Runs until cancelled."""
        while True:
            group = await self.bus.take()
            events = [event for waiting in group for event in waiting.events]
            try:
                await self.writer.write_isolating(events)
            except Exception as exc:  # StoreUnavailable, or a fault in the writer itself
                log.error("embedded write failed; %d events not acknowledged: %s", len(events), exc)
                self.bus.settle(group, failure=str(exc))
            else:
                self.bus.settle(group)


class JetStreamProcessor:
    def __init__(self, subscription: Any, writer: BatchWriter, fetch_batch: int = 64) -> None:
        self.subscription = subscription
        self.writer = writer
        self.fetch_batch = fetch_batch

    async def run(self, stop: asyncio.Event | None = None) -> None:
        from nats.errors import ConnectionClosedError, NoRespondersError
        from nats.js.errors import ServiceUnavailableError

        # a NATS server lost or a stream leader being elected: unacked messages are
        # redelivered, so wait and pull again rather than stop the processor
        bus_unavailable = (ServiceUnavailableError, NoRespondersError, ConnectionClosedError)
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                messages = await self.subscription.fetch(self.fetch_batch, timeout=1.0)
                await self.handle(messages)
            except TimeoutError:
                continue
            except StoreUnavailable as exc:  # while dead-lettering: unacked, so redelivered
                log.warning("store unavailable, messages will be redelivered: %s", exc)
                await asyncio.sleep(1)
            except bus_unavailable as exc:
                log.warning("JetStream unavailable, pulling again shortly: %r", exc)
                await asyncio.sleep(1)

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
        except StoreUnavailable as exc:
            await self._retry_later(decoded, exc)
            return
        except Exception as exc:
            log.warning("batch write failed (%s); retrying message by message", exc)
            await self._isolate(decoded)
            return
        for message, _ in decoded:
            await message.ack()

    async def _isolate(self, decoded: list[tuple[Any, list[Envelope]]]) -> None:
        """A batch failed on its data: each message is stored with its bad events
        dead-lettered one by one, then acked."""
        for index, (message, events) in enumerate(decoded):
            try:
                await self.writer.write_isolating(events)
            except StoreUnavailable as exc:
                await self._retry_later(decoded[index:], exc)
                return
            await message.ack()

    @staticmethod
    async def _retry_later(decoded: list[tuple[Any, list[Envelope]]], exc: Exception) -> None:
        log.warning("store unavailable, will retry: %s", exc)
        for message, _ in decoded:
            await message.nak(delay=2)
        await asyncio.sleep(1)

    @staticmethod
    def _note_pending(message: Any) -> None:
        metadata = getattr(message, "metadata", None)
        pending = getattr(metadata, "num_pending", None)
        if pending is not None:
            PROCESSOR_PENDING.set(pending)
