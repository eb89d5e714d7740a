"""Connection hygiene for every port: a bound on open connections below the fd limit, and
deadlines for a request head, so idle or half-open sockets cannot pile up.

uvicorn's own `timeout_keep_alive` closes a connection idle between requests; it does not
time a connection that never sends a request, nor one that sends its head slowly. The
protocol below does, and answers 503 at once to connections beyond the limit instead of
letting them take the last file descriptors.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("agentmon.connections")

# descriptors kept free for the store, NATS, log files and the listening sockets themselves
FD_RESERVE = 256
_TOO_MANY_BODY = b'{"error": "too many open connections to this port; retry"}'
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TOO_MANY_BODY)).encode() + b"\r\n\r\n" + _TOO_MANY_BODY
)


def raise_fd_limit() -> int:
    """Lift the soft descriptor limit to the hard one; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d to %d", soft, target)
    return soft


def connection_limit(ports: int, configured: int = 0) -> int:
    """Connections each of `ports` ports may hold so that all together stay under the fd limit."""
    budget = max(16, (raise_fd_limit() - FD_RESERVE) // max(1, ports))
    return min(configured, budget) if configured > 0 else budget


def bounded_protocol(header_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP protocol with a request-head deadline and a connection cap."""

    class BoundedProtocol(HttpToolsProtocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.write(_TOO_MANY)
                transport.close()
                return
            self._arm_head_deadline()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_head_deadline()

        def on_headers_complete(self) -> None:
            self._disarm_head_deadline()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_deadline()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            self._disarm_head_deadline()
            self._head_deadline = self.loop.call_later(header_timeout, self._head_too_slow)

        def _disarm_head_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_too_slow(self) -> None:
            self._head_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedProtocol
