"""Domain state and counters from libvirt, read in worker threads with a time limit.

libvirt-python's calls block, so each sample runs in its own daemon thread and the caller
waits at most `timeout` seconds. A call that hangs keeps its thread (daemon threads never hold
up the process's exit); the next poll of that domain reports it as still hung instead of
piling up more threads behind it.
Connections are opened read-only, shared by every domain on the same URI, kept between polls
and dropped (to be reopened on the next poll) after any error other than "no such domain".
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import LibvirtTarget

log = logging.getLogger(__name__)

try:
    import libvirt
except ImportError:  # the monitor still runs SSH and gateway checks without it
    libvirt = None

T = TypeVar("T")

LIBVIRT_OFF = "off: libvirt-python not installed"

DOMAIN_STATES = {
    0: "unknown",  # VIR_DOMAIN_NOSTATE
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutoff",  # VIR_DOMAIN_SHUTDOWN: being shut down
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}
ACTIVE_STATES = frozenset({"running", "blocked", "paused"})


def libvirt_available() -> bool:
    return libvirt is not None


@dataclass(frozen=True)
class IoCounters:
    read_bytes: int
    write_bytes: int


@dataclass(frozen=True)
class NetCounters:
    rx_bytes: int
    tx_bytes: int
    rx_errs: int
    tx_errs: int


@dataclass(frozen=True)
class DomainSample:
    taken_at: float
    """time.monotonic() when the counters were read."""
    state: str
    vcpus: int
    cpu_time_ns: int
    memory_kb: int
    """The memory currently assigned to the domain."""
    balloon: dict[str, int] | None
    """virDomainMemoryStats of a running domain (only 'actual' and 'rss' without a guest driver)."""
    io: IoCounters | None
    net: NetCounters | None


class LibvirtProbe:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._connections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[LibvirtTarget, tuple[Future[DomainSample], float]] = {}
        if libvirt is not None:
            libvirt.registerErrorHandler(_quiet, None)  # errors are reported as data, not stderr

    async def sample(self, target: LibvirtTarget) -> DomainSample | ProbeFailure:
        pending = self._in_flight.get(target)
        if pending is not None and not pending[0].done():
            hung_for = time.monotonic() - pending[1]
            return ProbeFailure(
                "libvirt_error",
                f"libvirt at {target.uri} still has not answered ({hung_for:.0f}s)",
            )
        future = in_daemon_thread(self._read_domain, target)
        self._in_flight[target] = (future, time.monotonic())
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see MonitorService.run
                return await asyncio.wrap_future(future)
        except TimeoutError:
            return ProbeFailure(
                "libvirt_error", f"libvirt at {target.uri} did not answer within {self.timeout:g}s"
            )
        except Exception as exc:  # libvirtError and anything the bindings raise
            return self._failure(target, exc)

    def _failure(self, target: LibvirtTarget, exc: Exception) -> ProbeFailure:
        if _is_missing_domain(exc):
            return ProbeFailure(
                "libvirt_error", f"no domain named {target.domain!r} at {target.uri}"
            )
        self._drop_connection(target.uri)
        message = " ".join(str(exc).split()) or type(exc).__name__
        return ProbeFailure("libvirt_error", f"{target.uri}: {message}")

    def _read_domain(self, target: LibvirtTarget) -> DomainSample:
        domain = self._connection(target.uri).lookupByName(target.domain)
        state_code, _max_kb, memory_kb, vcpus, cpu_time_ns = domain.info()
        taken_at = time.monotonic()
        state = DOMAIN_STATES.get(state_code, "unknown")
        balloon = io = net = None
        if state in ACTIVE_STATES:
            balloon = dict(domain.memoryStats())
            io, net = _device_counters(domain)
        return DomainSample(taken_at, state, vcpus, cpu_time_ns, memory_kb, balloon, io, net)

    def _connection(self, uri: str) -> Any:
        assert libvirt is not None
        with self._lock:
            connection = self._connections.get(uri)
        if connection is not None:
            return connection
        connection = libvirt.openReadOnly(uri)
        with self._lock:
            self._connections.setdefault(uri, connection)
            return self._connections[uri]

    def _drop_connection(self, uri: str) -> None:
        with self._lock:
            connection = self._connections.pop(uri, None)
        if connection is not None:
            in_daemon_thread(_close_quietly, connection)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            in_daemon_thread(_close_quietly, connection)


def in_daemon_thread(function: Callable[..., T], *args: Any) -> Future[T]:
    """Run a blocking call in a fresh daemon thread; its future completes when it returns."""
    future: Future[T] = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = function(*args)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=work, name="agentmon-libvirt", daemon=True).start()
    return future


def _device_counters(domain: Any) -> tuple[IoCounters | None, NetCounters | None]:
    """Sum the block and interface counters over every disk and NIC in the domain XML."""
    devices = ET.fromstring(domain.XMLDesc()).find("devices")
    if devices is None:
        return None, None
    disks = [t.get("dev") for t in devices.findall("disk/target")]
    nics = [t.get("dev") for t in devices.findall("interface/target")]
    io = net = None
    if disks:
        stats = [domain.blockStats(dev) for dev in disks if dev]
        io = IoCounters(sum(s[1] for s in stats), sum(s[3] for s in stats))
    if nics:
        stats = [domain.interfaceStats(dev) for dev in nics if dev]
        net = NetCounters(
            rx_bytes=sum(s[0] for s in stats),
            tx_bytes=sum(s[4] for s in stats),
            rx_errs=sum(s[2] for s in stats),
            tx_errs=sum(s[6] for s in stats),
        )
    return io, net


def _is_missing_domain(exc: Exception) -> bool:
    return (
        libvirt is not None
        and isinstance(exc, libvirt.libvirtError)
        and exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    )


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception as exc:
        log.debug("closing a libvirt connection failed: %s", exc)


def _quiet(_context: Any, _error: Any) -> None:
    return None
