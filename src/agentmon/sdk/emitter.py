"""The Emitter: queue events, send them in batches from a background thread, never lose them.

``emit`` only appends to an in-memory queue and returns at once, so it is safe from any
thread and from an asyncio event loop. A worker thread sends a batch when ``batch_size``
events are waiting or ``flush_interval`` seconds have passed, retries with exponential
backoff with full jitter (honouring ``Retry-After``; ``agentmon.client.backoff``), and after
``max_retries`` writes the batch to the spool directory, which it replays later. The queue
is bounded: beyond ``max_queue`` events new events go straight to the spool. Nothing here
raises into the caller because the server is unreachable. Delivery, the spool and its
bounds are the client layer's (``agentmon.client``), shared with the hooks.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from agentmon.client.backoff import Backoff
from agentmon.client.config import DEFAULT_INGEST_URL, ClientConfig
from agentmon.client.delivery import Endpoint, RetryPolicy, deliver_events
from agentmon.client.spool import Spool, deliver_or_spool, settle, trim
from agentmon.events import Envelope, Source, to_dict
from agentmon.sdk.scopes import SessionScope

log = logging.getLogger("agentmon.sdk")

REPLAY_ROUNDS = 20

_open_emitters: weakref.WeakSet[Emitter] = weakref.WeakSet()


@atexit.register
def _close_open_emitters() -> None:
    """A program that forgot ``close()`` still sends (or spools) what it emitted."""
    for emitter in list(_open_emitters):
        emitter.close(timeout=2.0)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


@dataclass(frozen=True)
class EmitterConfig:
    server_url: str = field(
        default_factory=lambda: _env("AGENTMON_INGEST_URL") or DEFAULT_INGEST_URL
    )
    framework: str = "python-sdk"
    client_id: str | None = None
    host: str | None = None
    api_key: str | None = field(default_factory=lambda: _env("AGENTMON_API_KEY"))
    batch_size: int = 200
    flush_interval: float = 1.0
    max_queue: int = 10_000
    max_retries: int = 3
    retry_backoff: float = 0.5
    request_timeout: float = 5.0
    spool_dir: str = field(default_factory=lambda: os.path.join(ClientConfig().spool_dir, "sdk"))
    replay_interval: float = 30.0

    def source(self) -> Source:
        host = self.host or socket.gethostname()
        return Source(framework=self.framework, client_id=self.client_id or host, host=host)


class Emitter:
    """Sends agentmon events to ``<server_url>/v1/events``; use as a (async) context manager."""

    def __init__(self, config: EmitterConfig | None = None, **overrides: Any) -> None:
        base = config or EmitterConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.source = self.config.source()
        self._endpoint = Endpoint(self.config.server_url, self.config.api_key)
        self._spool = Spool.configured(ClientConfig(), self.config.spool_dir)
        self._stopping = threading.Event()
        self._policy = RetryPolicy(
            timeout=self.config.request_timeout,
            attempts=self.config.max_retries + 1,
            backoff=Backoff(base=self.config.retry_backoff),
            sleep=self._stopping.wait,
        )
        self._replay_policy = RetryPolicy(timeout=self.config.request_timeout, attempts=1)
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = threading.Condition()
        self._in_flight = 0
        self._flush_requested = False
        self._cycles_started = 0
        self._cycles_done = 0
        self._closed = False
        self._next_replay = 0.0
        self._worker = threading.Thread(target=self._run, name="agentmon-emitter", daemon=True)
        self._worker.start()
        _open_emitters.add(self)

    # ------------------------------------------------------------ the caller's side

    def emit(self, *events: Envelope) -> None:
        """Queue events for sending; never blocks on the network, never raises."""
        try:
            encoded = [to_dict(event) for event in events]
            overflow: list[dict[str, Any]] = []
            with self._wake:
                if self._closed:
                    overflow = encoded
                else:
                    room = max(self.config.max_queue - len(self._queue), 0)
                    self._queue.extend(encoded[:room])
                    overflow = encoded[room:]
                    if len(self._queue) >= self.config.batch_size:
                        self._wake.notify()
            if overflow:
                self._spool_events(overflow, "queue full or emitter closed")
        except Exception:
            log.exception("agentmon: could not queue %d event(s)", len(events))

    def session(self, session_id: str | None = None, **start: Any) -> SessionScope:
        """``with emitter.session(title=...) as session:`` → session.start … session.end."""
        return SessionScope(self, session_id, start)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything queued and try the spool now; True once done (sent or spooled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            if self._closed:
                return not self._queue
            self._flush_requested = True
            self._next_replay = 0.0
            target = self._cycles_started + 1
            self._wake.notify()
            while self._queue or self._in_flight or self._cycles_done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wake.wait(remaining)
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush, stop the worker; events still queued after ``timeout`` are spooled."""
        self.flush(timeout)
        with self._wake:
            self._closed = True
            self._stopping.set()
            leftover = list(self._queue)
            self._queue.clear()
            self._wake.notify_all()
        self._worker.join(timeout)
        _open_emitters.discard(self)
        if leftover:
            self._spool_events(leftover, "emitter closed before sending")

    async def aflush(self, timeout: float | None = 10.0) -> bool:
        import asyncio

        return await asyncio.to_thread(self.flush, timeout)

    async def aclose(self, timeout: float | None = 10.0) -> None:
        import asyncio

        await asyncio.to_thread(self.close, timeout)

    def __enter__(self) -> Emitter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Emitter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------ the worker

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                if not batch or self._send(batch):
                    self._replay_spool()
            except Exception:
                log.exception("agentmon: emitter worker error")
            finally:
                with self._wake:
                    self._in_flight = 0
                    self._cycles_done += 1
                    self._wake.notify_all()

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """Wait until a batch is due; None when the emitter is closed and drained."""
        with self._wake:
            deadline = time.monotonic() + self.config.flush_interval
            while not self._closed:
                due = len(self._queue) >= self.config.batch_size or self._flush_requested
                remaining = deadline - time.monotonic()
                if due or remaining <= 0:
                    break
                self._wake.wait(remaining)
            if self._closed and not self._queue:
                return None
            size = min(len(self._queue), self.config.batch_size)
            batch = [self._queue.popleft() for _ in range(size)]
            self._flush_requested = self._flush_requested and bool(self._queue)
            self._in_flight = len(batch)
            self._cycles_started += 1
            return batch

    def _send(self, batch: list[dict[str, Any]]) -> bool:
        """Try a batch up to ``max_retries`` + 1 times; spool what never goes."""
        report = deliver_events(self._endpoint, batch, self._policy)
        settle(self._spool, report, _log_warning)
        if not report.leftover:
            return True
        self._spool_events(report.leftover, report.problem)
        self._next_replay = 0.0
        return False

    def _spool_events(self, events: list[dict[str, Any]], why: str) -> None:
        try:
            self._spool.write(events)
            log.warning(
                "agentmon: %d event(s) spooled to %s (%s)", len(events), self._spool.directory, why
            )
        except OSError:
            log.exception("agentmon: could not spool %d event(s); they are lost", len(events))
            return
        trim(self._spool, _log_warning)

    def _replay_spool(self) -> None:
        """Send spooled batches, oldest first, until the spool is empty or a send fails."""
        now = time.monotonic()
        if now < self._next_replay:
            return
        self._next_replay = now + self.config.replay_interval
        for _ in range(REPLAY_ROUNDS):
            if not self._spool.count():
                return
            if not deliver_or_spool(
                self._spool, self._endpoint, [], self._replay_policy, _log_warning
            ):
                return


def _log_warning(line: str) -> None:
    log.warning("agentmon: %s", line)
