"""Admission control for the ingest ports: refuse early, cheaply, when the process is full.

A gateway whose own CPU is the limit used to take every request it was sent and answer all
of them slowly (each request waits behind every other one being parsed and published), so
clients saw timeouts rather than a refusal they could act on. `Admission` decides as a POST
arrives, before its body is read or parsed: past `max_in_flight` requests being handled, or
while the event loop runs late by more than `max_lag_s` (the process cannot keep up with
what it already has), it answers 503 with Retry-After at once. A refusal costs a few
microseconds of the event loop instead of the milliseconds an accepted batch costs, so the
requests it admits keep their pace. One `Admission` guards every ingest port of a process
(native events and OTLP over HTTP and gRPC), since they share its event loop and its intake.
HTTP POSTs are guarded by `guard` (503 + Retry-After); a WebSocket ingest frame and an
OTLP/gRPC Export ask `refusal` and hold their place with `holding` while they are handled,
and answer a refusal in their own protocol (a 503 frame; UNAVAILABLE with RetryInfo).

The bounds are settings: AGENTMON_INGEST_MAX_IN_FLIGHT and AGENTMON_INGEST_MAX_LAG.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from starlette.types import ASGIApp, Receive, Scope, Send

from agentmon.config import Settings, default_of
from agentmon.metrics import INGEST_UNAVAILABLE

MAX_IN_FLIGHT_REQUESTS: int = default_of("ingest_max_in_flight")
"""Requests handled at once by default: enough to keep JetStream's acks (or the embedded
group commit) pipelined, few enough that an admitted batch does not wait behind hundreds of
others."""
MAX_LOOP_LAG_S: float = default_of("ingest_max_lag")
"""How late the event loop may run by default before new requests are refused (a second:
well past what scheduling on a loaded machine costs a healthy process, so only real overload
trips it)."""
LAG_TICK_S = 0.05
RETRY_AFTER_S = 1


class LoopLag:
    """How late the running event loop is: a timer re-armed every `tick_s` notes how much
    later than asked it ran; a timer overdue now counts as late by its delay so far."""

    def __init__(self, tick_s: float = LAG_TICK_S) -> None:
        self.tick_s = tick_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._last_lag = 0.0

    def seconds(self) -> float:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use in this loop: start ticking
            self._loop, self._last_lag = loop, 0.0
            self._arm(loop)
            return 0.0
        return max(self._last_lag, loop.time() - self._due)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = loop.time() + self.tick_s
        loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._last_lag = max(0.0, loop.time() - self._due)
        self._arm(loop)


class Admission:
    """The shared state: requests in flight and the loop's lag. Wrap each ingest HTTP app
    with `guard`; other intakes (WebSocket frames, gRPC calls) use `refusal` and `holding`."""

    def __init__(
        self, max_in_flight: int = MAX_IN_FLIGHT_REQUESTS, max_lag_s: float = MAX_LOOP_LAG_S
    ) -> None:
        self.max_in_flight = max_in_flight
        self.max_lag_s = max_lag_s
        self.in_flight = 0
        self.lag = LoopLag()

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        return cls(settings.ingest_max_in_flight, settings.ingest_max_lag)

    def refusal(self) -> str | None:
        """Why a new request (POST, frame or call) cannot be taken now, or None. A refusal
        is counted (agentmon_ingest_unavailable_total)."""
        reason = None
        if self.in_flight >= self.max_in_flight:
            reason = f"{self.in_flight} requests are being handled; retry shortly"
        elif (lag := self.lag.seconds()) > self.max_lag_s:
            reason = f"the ingest process is overloaded (running {lag:.1f}s late); retry shortly"
        if reason is not None:
            INGEST_UNAVAILABLE.inc()
        return reason

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Count an admitted request as in flight while it is handled."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def guard(self, app: ASGIApp) -> ASGIApp:
        async def admitted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] != "POST":
                await app(scope, receive, send)
                return
            reason = self.refusal()
            if reason is not None:
                await _unavailable(send, reason)
                return
            with self.holding():
                await app(scope, receive, send)

        return admitted


async def _unavailable(send: Send, reason: str) -> None:
    body = b'{"error":"' + reason.encode() + b'"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
