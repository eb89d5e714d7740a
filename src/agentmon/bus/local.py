"""The embedded bus: an in-process, bounded queue drained by one writer with group commit.

`accept` returns when the SQLite transaction holding the events has committed, so the
ingest gateway acknowledges only durable events. Whatever arrives while a transaction is
being written is taken together in the next one (up to `max_batch` events).
"""

from __future__ import annotations

import asyncio
import logging

from agentmon.events import Envelope
from agentmon.intake import IntakeUnavailable
from agentmon.processor import BatchWriter

log = logging.getLogger("agentmon.bus.local")

_Item = tuple[list[Envelope], asyncio.Future[None]]


class LocalBus:
    def __init__(
        self, writer: BatchWriter, max_pending_events: int = 200_000, max_batch: int = 10_000
    ) -> None:
        self.writer = writer
        self.max_pending_events = max_pending_events
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._pending = 0
        self._last_error: str | None = None

    async def accept(self, events: list[Envelope]) -> None:
        if not events:
            return
        if self._pending + len(events) > self.max_pending_events:
            raise IntakeUnavailable("the embedded queue is full; retry shortly", retry_after=1.0)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending += len(events)
        self._queue.put_nowait((events, future))
        await asyncio.shield(future)

    async def health(self) -> dict[str, str]:
        return {"bus": "ok" if self._last_error is None else f"error: {self._last_error}"}

    async def run(self) -> None:
        """The writer loop; runs until cancelled."""
        while True:
            items = [await self._queue.get()]
            count = len(items[0][0])
            while count < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                items.append(item)
                count += len(item[0])
            await self._write(items, count)

    async def _write(self, items: list[_Item], count: int) -> None:
        events = [event for batch, _ in items for event in batch]
        try:
            await self.writer.write(events)
        except Exception as exc:
            log.exception("embedded write failed; %d events not acknowledged", count)
            self._last_error = str(exc)
            for _, future in items:
                if not future.done():
                    future.set_exception(IntakeUnavailable(f"store write failed: {exc}"))
        else:
            self._last_error = None
            for _, future in items:
                if not future.done():
                    future.set_result(None)
        finally:
            self._pending -= count
