"""The embedded bus: an in-process, bounded queue of batches waiting for their commit.

`accept` returns when the SQLite transaction holding the events has committed, so the
ingest gateway acknowledges only durable events. The writer that drains the queue (group
commit: whatever arrived while a transaction was being written goes into the next one) is
the processor's `EmbeddedWriter`; this module only holds and settles the waiting batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agentmon.events import Envelope
from agentmon.intake import IntakeUnavailable


@dataclass
class Waiting:
    """One `accept` call: its events and the future its caller awaits."""

    events: list[Envelope]
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class LocalBus:
    # 40k events waiting is four full group commits: enough to keep the writer busy, and
    # little enough (tens of MB of envelopes) that an overload costs callers a 503, not RAM
    def __init__(self, max_pending_events: int = 40_000, max_batch: int = 10_000) -> None:
        self.max_pending_events = max_pending_events
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Waiting] = asyncio.Queue()
        self._pending = 0
        self._last_error: str | None = None

    async def accept(self, events: list[Envelope]) -> None:
        if not events:
            return
        if self._pending + len(events) > self.max_pending_events:
            raise IntakeUnavailable("the embedded queue is full; retry shortly", retry_after=1.0)
        waiting = Waiting(events)
        self._pending += len(events)
        self._queue.put_nowait(waiting)
        await asyncio.shield(waiting.done)

    @property
    def pending(self) -> int:
        """Events accepted and not yet settled (committed, or failed)."""
        return self._pending

    async def health(self) -> dict[str, str]:
        return {"bus": "ok" if self._last_error is None else f"error: {self._last_error}"}

    async def take(self) -> list[Waiting]:
        """The next group to commit: waits for one batch, adds whatever else is queued, up to
        `max_batch` events."""
        group = [await self._queue.get()]
        count = len(group[0].events)
        while count < self.max_batch and not self._queue.empty():
            waiting = self._queue.get_nowait()
            group.append(waiting)
            count += len(waiting.events)
        return group

    def settle(self, group: list[Waiting], failure: str | None = None) -> None:
        """Answer every caller of the group: committed, or unavailable with `failure`."""
        self._last_error = failure
        for waiting in group:
            self._pending -= len(waiting.events)
            if waiting.done.done():
                continue
            if failure is None:
                waiting.done.set_result(None)
            else:
                waiting.done.set_exception(IntakeUnavailable(f"store write failed: {failure}"))
