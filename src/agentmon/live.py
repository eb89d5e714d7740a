"""Fan-out of stored events to live WebSocket clients.

Publishing never waits: each client has a bounded queue, and a client that falls behind has
events skipped (counted, and told to refetch) rather than slowing the pipeline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import msgspec

from agentmon.events import Envelope, encode, now_ts
from agentmon.metrics import LIVE_CLIENTS, LIVE_DROPPED

QUEUE_BATCHES = 256
MAX_FRAME_EVENTS = 500


@dataclass
class LiveFilter:
    framework: str | None = None
    session_id: str | None = None
    event_type: str | None = None
    host: str | None = None

    def matches(self, event: Envelope) -> bool:
        source = event.event.source
        return (
            (self.framework is None or source.framework == self.framework)
            and (self.session_id is None or event.correlation.session_id == self.session_id)
            and (self.event_type is None or event.event.type == self.event_type)
            and (self.host is None or source.host == self.host)
        )


@dataclass(eq=False)
class Subscriber:
    filter: LiveFilter
    queue: asyncio.Queue[list[bytes]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_BATCHES)
    )
    dropped: int = 0

    async def next_frames(self) -> list[str]:
        """Wait for events, then return ready-to-send frames (a drop notice first)."""
        encoded = list(await self.queue.get())
        while not self.queue.empty() and len(encoded) < MAX_FRAME_EVENTS:
            encoded.extend(self.queue.get_nowait())
        frames = []
        if self.dropped:
            frames.append(msgspec.json.encode({"type": "dropped", "count": self.dropped}).decode())
            self.dropped = 0
        frames.append((b'{"type":"events","events":[' + b",".join(encoded) + b"]}").decode())
        return frames


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, live_filter: LiveFilter) -> Subscriber:
        subscriber = Subscriber(live_filter)
        self._subscribers.add(subscriber)
        LIVE_CLIENTS.set(len(self._subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        LIVE_CLIENTS.set(len(self._subscribers))

    def publish(self, events: list[Envelope]) -> None:
        if not self._subscribers or not events:
            return
        encoded: dict[str, bytes] = {}
        for subscriber in list(self._subscribers):
            chosen = [e for e in events if subscriber.filter.matches(e)]
            if not chosen:
                continue
            frame = [encoded.setdefault(e.event.id, encode(e)) for e in chosen]
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:
                subscriber.dropped += len(frame)
                LIVE_DROPPED.inc(len(frame))

    @staticmethod
    def hello() -> str:
        return msgspec.json.encode({"type": "hello", "server_time": now_ts()}).decode()
