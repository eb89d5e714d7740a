"""Assembling and running the services: all in one process (embedded) or one per process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.responses import JSONResponse

from agentmon.auth import (
    Guard,
    KeyRing,
    Rule,
    Sessions,
    TrustedProxies,
    ingest_rule,
    read_rule,
    web_rule,
)
from agentmon.client.sink import Sink
from agentmon.config import Settings, env_name, parse_addr
from agentmon.connections import bounded_protocol, connection_limit
from agentmon.events import Envelope
from agentmon.ingest import create_ingest_app, create_otlp_app, otlp_routes
from agentmon.ingest.admission import Admission
from agentmon.intake import Intake
from agentmon.live import LiveHub
from agentmon.origins import OriginCheck, parse_origins
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.query import create_query_app
from agentmon.redaction import with_redaction
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

    settings: Settings
    servers: list[tuple[str, Any, str]] = field(default_factory=list)
    tasks: list[tuple[str, Callable[[], Awaitable[Any]]]] = field(default_factory=list)
    keyring: KeyRing = field(init=False)
    sessions: Sessions = field(init=False)
    proxies: TrustedProxies = field(init=False)

    def __post_init__(self) -> None:
        self.keyring = KeyRing(_master_key(self.settings.api_key))
        self.sessions = Sessions(self.keyring)
        settings = self.settings
        self.proxies = TrustedProxies(
            settings.trusted_proxies, settings.trusted_user_header, settings.trusted_user_role
        )

    def serve(self, name: str, app: Any, addr: str, admission: Admission | None = None) -> None:
        """Serve `app` on `addr` behind the credential check of its port; WebSocket
        handshakes from foreign origins are refused. With `admission`, POSTs beyond what the
        process can take are refused first, before any other work is spent on them."""
        if addr:
            allowed = parse_origins(self.settings.allowed_origins)
            checked: Any = OriginCheck(self.guarded(name, app), allowed)
            if admission is not None:
                checked = admission.guard(checked)
            self.servers.append((name, checked, addr))

    def guarded(self, name: str, app: Any) -> Guard:
        """`app` behind the check of port `name` (every port has one: a port without a
        rule is a programming error, not an open door)."""
        if name == "web-ui":
            from agentmon.web.app import is_api_path

            is_page = lambda p: not is_api_path(p)  # noqa: E731
            return Guard(app, self.keyring, web_rule, self.sessions, is_page, self.proxies)
        rules: dict[str, Rule] = {
            "ingest-gateway": ingest_rule(self.settings.metrics_open),
            "otlp": ingest_rule(self.settings.metrics_open),
            "query-api": read_rule(self.settings.metrics_open),
            "processor-metrics": read_rule(self.settings.metrics_open),
        }
        return Guard(app, self.keyring, rules[name], proxies=self.proxies)

    def background(self, name: str, factory: Callable[[], Awaitable[Any]]) -> None:
        self.tasks.append((name, factory))

    async def run(self) -> None:
        self.servers = [
            (name, app, await self._exposure(name, addr)) for name, app, addr in self.servers
        ]
        settle_garbage_collection()
        sockets = [_listen(name, addr) for name, _, addr in self.servers]
        limit = connection_limit(len(self.servers), self.settings.max_connections)
        servers = [self._server(app, addr, limit) for _, app, addr in self.servers]
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
        refused = await self._until_stopped(waiter, running)
        for server in servers:
            server.should_exit = True
        for task in running:
            if task.get_name() in {n for n, _ in self.tasks}:
                task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        waiter.cancel()
        if refused is not None:
            raise SystemExit(str(refused))

    async def _until_stopped(
        self, waiter: asyncio.Task[Any], running: list[asyncio.Task[Any]]
    ) -> BaseException | None:
        """Wait for a stop signal, a server ending or a task failing (a background task that
        simply finishes, such as a connect, is no reason to stop); a refusal to start."""
        watched: set[asyncio.Task[Any]] = {waiter, *running}
        background = {name for name, _ in self.tasks}
        while True:
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            watched -= done
            finished = [t for t in done if t is waiter or t.get_name() not in background]
            failed = [t for t in done if t is not waiter and not t.cancelled() and t.exception()]
            for task in failed:
                log.error("%s stopped: %s", task.get_name(), task.exception())
                if isinstance(task.exception(), StartupRefused):
                    return task.exception()
            if finished or failed:
                return None

    async def _exposure(self, name: str, addr: str) -> str:
        """Where a port listens: a read port answers beyond this machine only once a
        credential exists (or AGENTMON_INSECURE says so); by default it stays on loopback."""
        setting = READ_PORTS.get(name)
        host, port = parse_addr(addr)
        if setting is None or _is_loopback(host):
            return addr
        if self.settings.insecure:
            log.warning(
                "INSECURE: %s answers anyone on %s without a credential (AGENTMON_INSECURE=1): "
                "everything the agents did is readable from the network",
                name,
                addr,
            )
            return addr
        if await self._credentials_exist():
            return addr
        if addr.startswith(":"):  # no host given (as the defaults): loopback until a key exists
            log.warning(
                "%s listens on 127.0.0.1:%d only: no credential exists yet (agentmon keys "
                "create NAME --scope read, then restart, to serve it on every address)",
                name,
                port,
            )
            return f"127.0.0.1:{port}"
        print(
            f"agentmon: refusing to serve {name} on {addr} without a credential: set "
            f"{env_name(setting)} to a 127.0.0.1 address, or create a key (agentmon keys create "
            "NAME --scope read) or set AGENTMON_API_KEY, or AGENTMON_INSECURE=1 to expose "
            "it anyway",
            file=sys.stderr,
        )
        raise SystemExit(2)

    async def _credentials_exist(self) -> bool:
        keyring = self.keyring
        if keyring.api_key or keyring.store is None:
            return bool(keyring.api_key)
        if not keyring.store_open:
            await connect_with_backoff("the database (for its keys)", keyring.store.open)
            keyring.store_open = True
        return await keyring.configured()

    def _server(self, app: Any, addr: str, max_connections: int) -> _Server:
        host, port = parse_addr(addr)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http=bounded_protocol(self.settings.header_timeout, max_connections),
            log_config=None,
            access_log=False,
            # who the client is behind a proxy is for AGENTMON_TRUSTED_PROXIES to say
            # (auth.TrustedProxies), not for uvicorn's default trust of 127.0.0.1
            proxy_headers=False,
            lifespan="off",
            ws_max_size=16 * 1024 * 1024,
            # compression would be done per client, undoing the live feed's encode-once
            ws_per_message_deflate=False,
            # hooks and SDKs keep connections open between batches; 5 s (uvicorn's default)
            # closes them under clients that reuse them
            timeout_keep_alive=max(1, round(self.settings.idle_timeout)),
            limit_concurrency=max_connections,
            timeout_graceful_shutdown=5,
        )
        return _Server(config)


GC_YOUNG_THRESHOLD = 10_000
"""Allocations (net of frees) between collections of the youngest generation in a server;
CPython's default of 700 makes a busy server collect several times per batch of events."""


def settle_garbage_collection() -> None:
    """Once a server has started: what start-up built (modules, apps, settings) moves to the
    permanent generation, so no collection walks it again, and the youngest generation is
    collected less often (a batch of events allocates thousands of short-lived objects)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


ADDRESS_SETTINGS = {
    "ingest-gateway": "AGENTMON_ADDR / --addr",
    "query-api": "AGENTMON_QUERY_ADDR / --query-addr",
    "web-ui": "AGENTMON_UI_ADDR / --ui-addr",
    "otlp": "AGENTMON_OTLP_ADDR / --otlp-addr",
    "processor-metrics": "--metrics-addr",
}


def _master_key(api_key: str | None) -> str | None:
    """AGENTMON_API_KEY as the server's full-access key; not when it holds a stored key
    (`amk_…`, say an ingest key exported for the hooks in the same shell): that one keeps
    its own scope instead of becoming an admin key."""
    from agentmon.store.keys import prefix_of

    if api_key and prefix_of(api_key):
        log.warning("AGENTMON_API_KEY holds a stored key (amk_…): it keeps its own scope here")
        return None
    return api_key


READ_PORTS = {"query-api": "query_addr", "web-ui": "ui_addr"}


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(name: str, addr: str) -> socket.socket:
    """Bind before anything starts, so a taken port is one clear error, not a traceback."""
    host, port = parse_addr(addr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections of sockets created
    # with it, and without it Nagle holds each response's second write for the client's
    # delayed ACK (40 ms per request on a kept-alive connection)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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


def _web_app(runtime: Runtime, query_base: str | None, query_app: Any = None) -> Any:
    from agentmon.web import create_web_app
    from agentmon.web.app import SECURITY_HEADERS, STATIC_DIR
    from agentmon.web.login import LoginPages

    headers = list(SECURITY_HEADERS)
    login = LoginPages(runtime.keyring, runtime.sessions, STATIC_DIR, headers, runtime.proxies)
    if runtime.keyring.store is not None:
        runtime.background("setup-link", functools.partial(_offer_setup, runtime, login))
    return create_web_app(query_base, query_app, login=login)


async def _offer_setup(runtime: Runtime, login: Any) -> None:
    """While no user, no key and no API key exist, print a one-time link that creates the
    first admin in the browser (as Jupyter prints its token)."""
    if not runtime.keyring.store_open or await runtime.keyring.configured():
        return
    host, port = parse_addr(runtime.settings.ui_addr)
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    link = login.offer_setup()
    print(
        f"agentmon: no user or key exists yet. Create the first admin at\n"
        f"    http://{shown}:{port}/setup?token={link.token}\n"
        "  (works once, for an hour), or run: agentmon users add NAME --role admin",
        file=sys.stderr,
        flush=True,
    )


def _monitor_task(settings: Settings, sink: Sink) -> Callable[[], Awaitable[Any]]:
    from agentmon.monitor.service import MonitorService

    service = MonitorService(settings.openclaw_registry, settings.poll_interval, sink)
    return service.run


async def run_embedded(settings: Settings, *, demo: bool = False, ui: bool = True) -> None:
    from agentmon.bus.local import LocalBus

    async with opened_store(settings) as store:
        hub = LiveHub(settings.live_max_viewers)
        runtime = Runtime(settings)
        runtime.keyring.store = store
        bus = LocalBus()
        writer = BatchWriter(store, on_stored=_listeners(runtime, settings, hub.publish, store))
        query_app = create_query_app(store, hub)
        intake = with_redaction(bus, settings)
        _serve_ingest(runtime, intake, settings)
        runtime.serve("query-api", query_app, settings.query_addr)
        if ui:
            runtime.serve("web-ui", _web_app(runtime, None, query_app), settings.ui_addr)
        runtime.background("processor", EmbeddedWriter(bus, writer).run)
        _retention(runtime, store, settings)
        if settings.openclaw_registry.exists():
            runtime.background("openclaw-monitor", _monitor_task(settings, intake.accept))
        if demo:
            from agentmon.demo import DEMO_HOSTS, DemoTraffic
            from agentmon.store.leftovers import leftovers

            earlier = functools.partial(leftovers, store, DEMO_HOSTS)
            runtime.background("demo", DemoTraffic(intake.accept, earlier=earlier).run)
        log.info("embedded agentmon: data in %s", settings.data_dir)
        await runtime.run()


def _serve_ingest(runtime: Runtime, intake: Intake, settings: Settings) -> None:
    """The ingest gateway and the OTLP port, sharing one OTLP receiver (the credential
    check is the runtime's, as on every port)."""
    otlp = otlp_routes(intake)
    # one for every ingest port, its WebSocket frames and gRPC: they share the event loop
    # and the intake
    admission = Admission.from_settings(settings)
    ingest_app = create_ingest_app(intake, None, otlp, admission)
    runtime.serve("ingest-gateway", ingest_app, settings.ingest_addr, admission)
    runtime.serve("otlp", create_otlp_app(intake, None, otlp), settings.otlp_addr, admission)
    if settings.otlp_grpc_addr:
        grpc = _otlp_grpc(runtime, intake, settings.otlp_grpc_addr, admission)
        runtime.background("otlp-grpc", grpc)


def _otlp_grpc(
    runtime: Runtime, intake: Intake, addr: str, admission: Admission
) -> Callable[[], Awaitable[Any]]:
    """OTLP/gRPC (the `grpc` extra), guarded by the runtime's keys as every port is."""
    try:
        from agentmon.otlp.grpc_receiver import GrpcReceiver
    except ImportError:
        raise SystemExit(
            "AGENTMON_OTLP_GRPC_ADDR is set but grpcio is not installed: install the grpc extra "
            "(pip install -c constraints.txt -e '.[server,grpc]') or unset it"
        ) from None
    return functools.partial(GrpcReceiver(intake, runtime.keyring, admission).serve, addr)


def _keys_from_database(runtime: Runtime, settings: Settings) -> Store | None:
    """A service without a store of its own (gateway, web UI) reads the keys from the
    database when DATABASE_URL is set; until it answers only AGENTMON_API_KEY is accepted
    (requests with other keys get 503: fail closed). Without DATABASE_URL only the API key
    exists for it."""
    if not settings.database_url:
        return None
    store = open_store(settings)
    runtime.keyring.store = store
    runtime.keyring.store_open = False

    async def connect() -> None:
        if not runtime.keyring.store_open:
            await connect_with_backoff("the database (for its keys)", store.open)
            runtime.keyring.store_open = True

    runtime.background("keys-connect", connect)
    return store


def _listeners(
    runtime: Runtime,
    settings: Settings,
    announce: Callable[[list[Envelope]], Any],
    store: Store,
) -> Callable[[list[Envelope]], Awaitable[None]]:
    """What newly stored events go to: the live feed, and the alert webhook when set."""
    # alerts are raised and recorded in the alert history with or without a webhook
    from agentmon.alerts import AlertNotifier, BudgetWatch, VmThresholds

    vm_limits = VmThresholds(
        settings.vm_disk_alert_pct, settings.vm_memory_alert_pct, int(settings.lost_after * 1000)
    )
    notifier = AlertNotifier(settings.alert_webhook, settings.alert_cooldown, store, vm_limits)
    runtime.background("alerts", notifier.run)
    runtime.background("attention-alerts", functools.partial(notifier.watch, store))
    budgets = BudgetWatch(store, notifier.queue)
    runtime.background("budget-alerts", budgets.run)

    async def stored(events: list[Envelope]) -> None:
        notifier.observe(events)
        budgets.observe(events)
        outcome = announce(events)
        if asyncio.iscoroutine(outcome):
            await outcome

    return stored


def _retention(runtime: Runtime, store: Store, settings: Settings) -> None:
    if settings.retention_days > 0:
        runtime.background("retention", lambda: _run_retention(store, settings))
    runtime.background("partitions", lambda: _keep_partitions_ahead(store))


async def _keep_partitions_ahead(store: Store) -> None:
    """The writer creates the PostgreSQL `events` partitions ahead of time (see partitions.py)."""
    from agentmon.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        await store.keep_partitions_ahead()


async def _run_retention(store: Store, settings: Settings) -> None:
    from agentmon.retention import run_retention

    await run_retention(store, settings.retention_days, settings.retention_interval)


def _require(value: str | None, name: str) -> str:
    if not value:
        raise SystemExit(f"{name} must be set for this service")
    return value


class WhenReady:
    """An ASGI app that answers 503 (and refuses WebSockets) until `ready` is set."""

    def __init__(self, app: Any, waiting_for: str) -> None:
        self.app = app
        self.waiting_for = waiting_for
        self.ready = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.ready or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            response = JSONResponse(
                {"status": "starting", "error": self.waiting_for},
                status_code=503,
                headers={"retry-after": "2"},
            )
            await response(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1013, "reason": self.waiting_for})


LAG_CHECK_INTERVAL_S = 5.0
MAX_BACKOFF_S = 10.0


class ProcessorHealth:
    """The processor's port: /healthz (503 until consuming; the backlog) and /metrics."""

    def __init__(self, bus: Any, store: Store, settings: Settings) -> None:
        self.bus = bus
        self.store = store
        self.settings = settings
        self.store_open = False
        self.consuming = False
        self.lag: dict[str, Any] = {}

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        from agentmon.metrics import metrics_endpoint

        return Starlette(
            routes=[Route("/healthz", self.healthz), Route("/metrics", metrics_endpoint)]
        )

    async def healthz(self, request: Any) -> JSONResponse:
        bus = (await self.bus.health())["bus"]
        store = await self.store.health() if self.store_open else "connecting"
        healthy = self.consuming and bus == "ok" and store == "ok"
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "bus": bus, "store": store, **self.lag},
            status_code=200 if healthy else 503,
        )

    async def watch_lag(self, every_s: float = LAG_CHECK_INTERVAL_S) -> None:
        """Measure the backlog; warn while it nears a limit beyond which JetStream discards."""
        from agentmon.metrics import PROCESSOR_OLDEST_PENDING_SECONDS, PROCESSOR_PENDING

        max_age, max_bytes = self.settings.nats_max_age, self.settings.nats_max_bytes
        while True:
            try:
                lag = await self.bus.lag()
            except Exception as exc:
                log.warning("cannot measure the processor backlog: %s", exc)
            else:
                PROCESSOR_PENDING.set(lag.pending)
                PROCESSOR_OLDEST_PENDING_SECONDS.set(lag.oldest_age_s)
                self.lag = {
                    "pending": lag.pending,
                    "oldest_pending_age_s": round(lag.oldest_age_s, 1),
                    "stream_bytes": lag.stream_bytes,
                }
                for warning in lag.warnings(max_age, max_bytes):
                    log.warning("processor backlog: %s", warning)
            await asyncio.sleep(every_s)


class StartupRefused(RuntimeError):
    """A configuration that waiting cannot fix: the service exits with this sentence."""


async def connect_with_backoff(
    what: str, connect: Callable[[], Awaitable[Any]], fatal: tuple[type[Exception], ...] = ()
) -> None:
    """Call `connect` until it succeeds, waiting longer after each failure (up to 10 s)."""
    delay = 0.5
    while True:
        try:
            await connect()
            log.info("connected to %s", what)
            return
        except fatal as exc:
            raise StartupRefused(str(exc)) from exc
        except Exception as exc:
            log.warning("%s not reachable yet (%s); retrying in %.1fs", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF_S)


def _nats_bus(settings: Settings) -> Any:
    from agentmon.bus.nats import NatsBus

    _require(settings.nats_url, "NATS_URL")
    return NatsBus(settings)


async def _connect_nats(bus: Any) -> None:
    from agentmon.bus.nats import StreamMismatch

    await connect_with_backoff(f"NATS at {bus.url}", bus.connect, fatal=(StreamMismatch,))


@dataclass
class KeyCheckingIntake:
    """A gateway's intake while its keys come from the database: /healthz stays 503 ("keys":
    "connecting") until a key can be checked, so a load balancer (or a client waiting for
    healthy) sends nothing the gateway would have to refuse for want of its keys."""

    inner: Intake
    keyring: KeyRing

    async def accept(self, events: list[Envelope]) -> None:
        await self.inner.accept(events)

    async def health(self) -> dict[str, str]:
        keys = "ok" if self.keyring.store_open else "connecting"
        return {**await self.inner.health(), "keys": keys}


async def run_ingest_gateway(settings: Settings) -> None:
    """Serve at once; /healthz says 503 and POSTs are refused with 503 until NATS (and, with
    DATABASE_URL, the database holding the keys) answers."""
    bus = _nats_bus(settings)
    runtime = Runtime(settings)
    keys = _keys_from_database(runtime, settings)
    intake: Intake = with_redaction(bus, settings)
    if keys is not None:
        intake = KeyCheckingIntake(intake, runtime.keyring)
    try:
        _serve_ingest(runtime, intake, settings)
        runtime.background("nats-connect", lambda: _connect_nats(bus))
        await runtime.run()
    finally:
        await bus.close()
        if keys is not None and runtime.keyring.store_open:
            await keys.close()


async def run_event_processor(settings: Settings, metrics_addr: str) -> None:
    """Serve /healthz and /metrics at once; consume once NATS and the database answer."""
    from agentmon.processor import JetStreamProcessor

    _require(settings.database_url, "DATABASE_URL")
    bus = _nats_bus(settings)
    store = open_store(settings)
    runtime = Runtime(settings)
    runtime.keyring.store, runtime.keyring.store_open = store, False
    on_stored = _listeners(runtime, settings, bus.announce_stored, store)
    health = ProcessorHealth(bus, store, settings)
    runtime.serve("processor-metrics", health.app(), metrics_addr)

    async def open_store_when_reachable() -> None:
        await connect_with_backoff("the database", store.open)
        health.store_open = runtime.keyring.store_open = True

    async def consume() -> None:
        # side by side: /metrics can check keys as soon as the database answers, NATS or not
        await asyncio.gather(_connect_nats(bus), open_store_when_reachable())
        subscription = await bus.pull_subscription()
        processor = JetStreamProcessor(
            subscription, BatchWriter(store, on_stored), settings.processor_fetch
        )
        health.consuming = True
        work = [processor.run(), health.watch_lag(), _keep_partitions_ahead(store)]
        if settings.retention_days > 0:
            work.append(_run_retention(store, settings))
        await asyncio.gather(*work)

    runtime.background("event-processor", consume)
    try:
        await runtime.run()
    finally:
        await bus.close()
        if health.store_open:
            await store.close()


async def run_query_api(settings: Settings) -> None:
    """Serve at once (503 until the database answers); the live feed follows NATS when set."""
    _require(settings.database_url, "DATABASE_URL")
    store = open_store(settings)
    hub = LiveHub(settings.live_max_viewers)
    runtime = Runtime(settings)
    runtime.keyring.store, runtime.keyring.store_open = store, False
    query_app = WhenReady(create_query_app(store, hub), "waiting for the database")
    runtime.serve("query-api", query_app, settings.query_addr)

    async def open_store_when_reachable() -> None:
        if not runtime.keyring.store_open:  # opened already to see whether keys exist
            await connect_with_backoff("the database", store.open)
            runtime.keyring.store_open = True
        query_app.ready = True

    runtime.background("store-connect", open_store_when_reachable)
    bus = None
    if settings.nats_url:
        bus = _nats_bus(settings)

        async def follow() -> None:
            await _connect_nats(bus)
            await bus.follow_stored(hub.publish)

        runtime.background("nats-connect", follow)
    try:
        await runtime.run()
    finally:
        if bus:
            await bus.close()
        if runtime.keyring.store_open:
            await store.close()


async def run_web_ui(settings: Settings) -> None:
    runtime = Runtime(settings)
    keys = _keys_from_database(runtime, settings)
    runtime.serve("web-ui", _web_app(runtime, settings.query_base), settings.ui_addr)
    try:
        await runtime.run()
    finally:
        if keys is not None and runtime.keyring.store_open:
            await keys.close()
