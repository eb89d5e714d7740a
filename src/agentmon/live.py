"""Fan-out of stored events to live WebSocket clients.

Publishing never waits on a client. Stored events are gathered and flushed as frames at most
every few milliseconds (longer the more viewers there are, so the total number of sends per
second stays bounded); each frame is encoded once and the same text goes to every client
whose filter it matches. Each client has a bounded outbox: a client that falls behind loses
its oldest frames, and is told how many events it missed (a `dropped` notice) so it can
refetch, rather than slowing the pipeline or growing without bound. The bytes sent to all
viewers together are budgeted too: many viewers of a busy fleet get `dropped` notices for
what exceeds the budget instead of taking the event loop from ingest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from agentmon.events import Envelope, encode, now_ts
from agentmon.metrics import LIVE_CLIENTS, LIVE_DROPPED, LIVE_REFUSED

MAX_FRAME_EVENTS = 500
OUTBOX_FRAMES = 16
# all viewers together get at most about this many frames a second
SENDS_PER_SECOND = 5000
MAX_FLUSH_INTERVAL_S = 0.25
# what all viewers together are sent per second at most; beyond it a flush sends `dropped`
# notices instead of events, so hundreds of viewers of a busy fleet cannot starve ingest
SEND_BYTES_PER_SECOND = 8 * 1024 * 1024
DROP_NOTICE_INTERVAL_S = 1.0


class LiveFull(Exception):
    """The viewer cap is reached."""


@dataclass
class LiveFilter:
    framework: str | None = None
    session_id: str | None = None
    event_type: str | None = None
    host: str | None = None

    def key(self) -> tuple[str | None, ...]:
        return (self.framework, self.session_id, self.event_type, self.host)

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
    outbox: deque[tuple[str, int]] = field(default_factory=deque)
    dropped: int = 0
    _waiting: asyncio.Event = field(default_factory=asyncio.Event)

    def miss(self, events: int) -> None:
        """Count events this client will not get; the notice goes out with its next frame,
        or when the hub announces drops (at most once a second)."""
        self.dropped += events
        LIVE_DROPPED.inc(events)

    def announce_drops(self) -> None:
        if self.dropped:
            self._waiting.set()

    def offer(self, frame: str, events: int) -> None:
        """Queue a frame; when the outbox is full the oldest frame's events are dropped."""
        if len(self.outbox) >= OUTBOX_FRAMES:
            _, lost = self.outbox.popleft()
            self.dropped += lost
            LIVE_DROPPED.inc(lost)
        self.outbox.append((frame, events))
        self._waiting.set()

    async def next_frames(self) -> list[str]:
        """Wait for frames, then return all queued ones (a drop notice first)."""
        while not self.outbox and not self.dropped:
            self._waiting.clear()
            await self._waiting.wait()
        frames = []
        if self.dropped:
            frames.append(msgspec.json.encode({"type": "dropped", "count": self.dropped}).decode())
            self.dropped = 0
        frames.extend(frame for frame, _ in self.outbox)
        self.outbox.clear()
        return frames

    async def deliver(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send frames as they come until cancelled; a slow client only delays itself."""
        while True:
            for frame in await self.next_frames():
                await send(frame)


class LiveHub:
    def __init__(self, max_viewers: int = 1000) -> None:
        self.max_viewers = max_viewers
        self._subscribers: dict[Subscriber, None] = {}  # in arrival order: fair turns
        self._pending: list[Envelope] = []
        self._flush: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._send_budget = float(SEND_BYTES_PER_SECOND)
        self._turn = 0
        self._last_announce = 0.0

    @property
    def full(self) -> bool:
        return len(self._subscribers) >= self.max_viewers

    def subscribe(self, live_filter: LiveFilter) -> Subscriber:
        if self.full:
            LIVE_REFUSED.inc()
            raise LiveFull(
                f"too many live viewers (AGENTMON_LIVE_MAX_VIEWERS={self.max_viewers}); "
                "try again later"
            )
        subscriber = Subscriber(live_filter)
        self._subscribers[subscriber] = None
        LIVE_CLIENTS.set(len(self._subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.pop(subscriber, None)
        LIVE_CLIENTS.set(len(self._subscribers))

    def publish(self, events: list[Envelope]) -> None:
        """Take newly stored events; they go out at the next flush. Never waits."""
        if not self._subscribers or not events:
            return
        self._pending.extend(events)
        if self._flush is None:
            loop = asyncio.get_running_loop()
            interval = min(MAX_FLUSH_INTERVAL_S, len(self._subscribers) / SENDS_PER_SECOND)
            delay = max(0.0, self._last_flush + interval - loop.time())
            self._flush = loop.call_later(delay, self.flush)

    def flush(self) -> None:
        """Send what was published since the last flush: one encoding per filter."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        now = asyncio.get_running_loop().time()
        self._send_budget = min(
            float(SEND_BYTES_PER_SECOND),
            self._send_budget + (now - self._last_flush) * SEND_BYTES_PER_SECOND,
        )
        self._last_flush = now
        events, self._pending = self._pending, []
        cache: dict[int, bytes] = {}

        def encoded(event: Envelope) -> bytes:
            data = cache.get(id(event))
            if data is None:
                data = cache[id(event)] = encode(event)
            return data

        groups = self._by_filter()
        for group in groups.values():
            chosen = [event for event in events if group[0].filter.matches(event)]
            for start in range(0, len(chosen), MAX_FRAME_EVENTS):
                part = chosen[start : start + MAX_FRAME_EVENTS]
                data = b",".join(encoded(event) for event in part)
                frame = (b'{"type":"events","events":[' + data + b"]}").decode()
                self._fan_out(group, frame, len(part))
        self._announce_drops(now)

    def _announce_drops(self, now: float) -> None:
        """Wake viewers that only have a drop count, at most every DROP_NOTICE_INTERVAL_S
        (a notice per flush per viewer would cost as much as the frames saved)."""
        behind = [s for s in self._subscribers if s.dropped and not s.outbox]
        if not behind:
            return
        if now - self._last_announce >= DROP_NOTICE_INTERVAL_S:
            self._last_announce = now
            for subscriber in behind:
                subscriber.announce_drops()
        elif self._flush is None:
            wait = self._last_announce + DROP_NOTICE_INTERVAL_S - now
            self._flush = asyncio.get_running_loop().call_later(wait, self.flush)

    def _fan_out(self, group: list[Subscriber], frame: str, events: int) -> None:
        """The frame to as many of the group as the send budget affords, taking turns."""
        affordable = min(len(group), int(self._send_budget // max(1, len(frame))))
        self._send_budget -= affordable * len(frame)
        start = self._turn % len(group)
        self._turn += affordable
        for index, subscriber in enumerate(group[start:] + group[:start]):
            if index < affordable:
                subscriber.offer(frame, events)
            else:
                subscriber.miss(events)

    def _by_filter(self) -> dict[tuple[str | None, ...], list[Subscriber]]:
        groups: dict[tuple[str | None, ...], list[Subscriber]] = {}
        for subscriber in self._subscribers:
            groups.setdefault(subscriber.filter.key(), []).append(subscriber)
        return groups

    @staticmethod
    def hello() -> str:
        return msgspec.json.encode({"type": "hello", "server_time": now_ts()}).decode()
