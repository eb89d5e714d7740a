"""Assembling and running the services: all in one process (embedded) or one per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from agentmon.client.sink import Sink
from agentmon.config import Settings, parse_addr
from agentmon.events import Envelope
from agentmon.ingest import create_ingest_app, create_otlp_app, otlp_routes
from agentmon.intake import Intake
from agentmon.live import LiveHub
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.query import create_query_app
from agentmon.store import Store, open_store

log = logging.getLogger("agentmon")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `Runtime`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Runtime:
    """Servers and background tasks that start together and stop together."""

    servers: list[tuple[str, Any, str]] = field(default_factory=list)
    tasks: list[tuple[str, Callable[[], Awaitable[Any]]]] = field(default_factory=list)

    def serve(self, name: str, app: Any, addr: str) -> None:
        if addr:
            self.servers.append((name, app, addr))

    def background(self, name: str, factory: Callable[[], Awaitable[Any]]) -> None:
        self.tasks.append((name, factory))

    async def run(self) -> None:
        sockets = [_listen(name, addr) for name, _, addr in self.servers]
        servers = [self._server(app, addr) for _, app, addr in self.servers]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        running = [
            asyncio.create_task(server.serve(sockets=[sock]), name=name)
            for server, sock, (name, _, _) in zip(servers, sockets, self.servers, strict=True)
        ]

        running += [asyncio.create_task(_guarded(n, f), name=n) for n, f in self.tasks]
        for name, _, addr in self.servers:
            log.info("%s listening on %s", name, addr)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception():
                log.error("%s stopped: %s", task.get_name(), task.exception())
        for server in servers:
            server.should_exit = True
        for task in running:
            if task.get_name() in {n for n, _ in self.tasks}:
                task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        waiter.cancel()

    @staticmethod
    def _server(app: Any, addr: str) -> _Server:
        host, port = parse_addr(addr)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws_max_size=16 * 1024 * 1024,
            # hooks and SDKs keep connections open between batches; 5 s (uvicorn's default)
            # closes them under clients that reuse them
            timeout_keep_alive=75,
            timeout_graceful_shutdown=5,
        )
        return _Server(config)


ADDRESS_SETTINGS = {
    "ingest-gateway": "AGENTMON_ADDR / --addr",
    "query-api": "AGENTMON_QUERY_ADDR / --query-addr",
    "web-ui": "AGENTMON_UI_ADDR / --ui-addr",
    "otlp": "AGENTMON_OTLP_ADDR / --otlp-addr",
    "processor-metrics": "--metrics-addr",
}


def _listen(name: str, addr: str) -> socket.socket:
    """Bind before anything starts, so a taken port is one clear error, not a traceback."""
    host, port = parse_addr(addr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        setting = ADDRESS_SETTINGS.get(name, "its address setting")
        raise OSError(
            f"{name} cannot listen on {addr}: {exc.strerror} (choose another with {setting})"
        ) from None
    sock.set_inheritable(True)
    return sock


async def _guarded(name: str, factory: Callable[[], Awaitable[Any]]) -> None:
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed", name)
        raise


@contextlib.asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    store = open_store(settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _web_app(query_base: str | None, query_app: Any = None) -> Any:
    from agentmon.web import create_web_app

    return create_web_app(query_base, query_app)


def _monitor_task(settings: Settings, sink: Sink) -> Callable[[], Awaitable[Any]]:
    from agentmon.monitor import MonitorService

    service = MonitorService(settings.openclaw_registry, settings.poll_interval, sink)
    return service.run


async def run_embedded(settings: Settings, *, demo: bool = False, ui: bool = True) -> None:
    from agentmon.bus.local import LocalBus

    async with opened_store(settings) as store:
        hub = LiveHub()
        runtime = Runtime()
        bus = LocalBus()
        writer = BatchWriter(store, on_stored=_listeners(runtime, settings, hub.publish))
        query_app = create_query_app(store, hub)
        _serve_ingest(runtime, bus, settings)
        runtime.serve("query-api", query_app, settings.query_addr)
        if ui:
            runtime.serve("web-ui", _web_app(None, query_app), settings.ui_addr)
        runtime.background("processor", EmbeddedWriter(bus, writer).run)
        _retention(runtime, store, settings)
        if settings.openclaw_registry.exists():
            runtime.background("openclaw-monitor", _monitor_task(settings, bus.accept))
        if demo:
            from agentmon.demo import DemoTraffic

            runtime.background("demo", DemoTraffic(bus.accept).run)
        log.info("embedded agentmon: data in %s", settings.data_dir)
        await runtime.run()


def _serve_ingest(runtime: Runtime, intake: Intake, settings: Settings) -> None:
    """The ingest gateway and the OTLP port, sharing one OTLP receiver."""
    otlp = otlp_routes(intake)
    runtime.serve(
        "ingest-gateway", create_ingest_app(intake, settings.api_key, otlp), settings.ingest_addr
    )
    runtime.serve("otlp", create_otlp_app(intake, settings.api_key, otlp), settings.otlp_addr)


def _listeners(
    runtime: Runtime, settings: Settings, announce: Callable[[list[Envelope]], Any]
) -> Callable[[list[Envelope]], Awaitable[None]]:
    """What newly stored events go to: the live feed, and the alert webhook when set."""
    notifier = None
    if settings.alert_webhook:
        from agentmon.alerts import AlertNotifier

        notifier = AlertNotifier(settings.alert_webhook, settings.alert_cooldown)
        runtime.background("alerts", notifier.run)

    async def stored(events: list[Envelope]) -> None:
        if notifier is not None:
            notifier.observe(events)
        outcome = announce(events)
        if asyncio.iscoroutine(outcome):
            await outcome

    return stored


def _retention(runtime: Runtime, store: Store, settings: Settings) -> None:
    if settings.retention_days > 0:
        from agentmon.retention import run_retention

        days, every = settings.retention_days, settings.retention_interval
        runtime.background("retention", lambda: run_retention(store, days, every))


def _require(value: str | None, name: str) -> str:
    if not value:
        raise SystemExit(f"{name} must be set for this service")
    return value


async def run_ingest_gateway(settings: Settings) -> None:
    from agentmon.bus.nats import NatsBus

    _require(settings.nats_url, "NATS_URL")
    bus = NatsBus(settings)
    await bus.connect()
    try:
        runtime = Runtime()
        _serve_ingest(runtime, bus, settings)
        await runtime.run()
    finally:
        await bus.close()


async def run_event_processor(settings: Settings, metrics_addr: str) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from agentmon.bus.nats import NatsBus
    from agentmon.metrics import metrics_endpoint
    from agentmon.processor import JetStreamProcessor

    _require(settings.nats_url, "NATS_URL")
    _require(settings.database_url, "DATABASE_URL")
    bus = NatsBus(settings)
    await bus.connect()
    try:
        async with opened_store(settings) as store:
            subscription = await bus.pull_subscription()
            runtime = Runtime()
            on_stored = _listeners(runtime, settings, bus.announce_stored)
            processor = JetStreamProcessor(subscription, BatchWriter(store, on_stored))
            runtime.serve(
                "processor-metrics",
                Starlette(routes=[Route("/metrics", metrics_endpoint)]),
                metrics_addr,
            )
            runtime.background("event-processor", processor.run)
            _retention(runtime, store, settings)
            await runtime.run()
    finally:
        await bus.close()


async def run_query_api(settings: Settings) -> None:
    from agentmon.bus.nats import NatsBus

    _require(settings.database_url, "DATABASE_URL")
    async with opened_store(settings) as store:
        hub = LiveHub()
        bus = None
        if settings.nats_url:
            bus = NatsBus(settings)
            await bus.connect()
            await bus.follow_stored(hub.publish)
        try:
            runtime = Runtime()
            runtime.serve("query-api", create_query_app(store, hub), settings.query_addr)
            await runtime.run()
        finally:
            if bus:
                await bus.close()


async def run_web_ui(settings: Settings) -> None:
    runtime = Runtime()
    runtime.serve("web-ui", _web_app(settings.query_base), settings.ui_addr)
    await runtime.run()
