"""Real servers for the monitor's tests: OpenSSH sshd, HTTP servers, libvirt test nodes.

Nothing here fakes a protocol: sshd is the system's OpenSSH under a throwaway config on a
free loopback port, the HTTP servers are uvicorn, libvirt is its built-in test driver, and a
"hung" peer is a real socket that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tests.conftest import free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

NODE_XML = """<node>
  <domain type='test'>
    <name>web</name><memory unit='KiB'>2097152</memory><vcpu>2</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='/guest/web.img'/>
        <target dev='vda' bus='virtio'/></disk>
      <interface type='network'><source network='default'/><target dev='webnet0'/></interface>
      <memballoon model='virtio'><stats period='10'/></memballoon>
    </devices>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>frozen</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <test:runstate>3</test:runstate>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>off</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
</node>
"""


@pytest.fixture(scope="session")
def node_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A libvirt test-driver node: 'web' running, 'frozen' paused, 'off' shut off."""
    path = tmp_path_factory.mktemp("libvirt") / "node.xml"
    path.write_text(NODE_XML)
    return f"test://{path}"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    return free_port()


# --- OpenSSH -------------------------------------------------------------------------------


@dataclass
class Sshd:
    port: int
    key: Path
    wrong_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = "root"
    """Whoever runs the tests: sshd runs as them and lets them in with the client key."""

    def entry(self, **overrides: Any) -> dict[str, Any]:
        """The 'ssh' part of a registry entry for this server."""
        section: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "key": str(self.key),
            "known_hosts": str(self.known_hosts),
        }
        section.update(overrides)
        return section

    def drop_sessions(self) -> int:
        """Kill the per-connection sshd processes, as a restart of the daemon would."""
        import psutil

        children = psutil.Process(self.process.pid).children(recursive=True)
        for child in children:
            child.kill()
        psutil.wait_procs(children, timeout=5)
        return len(children)


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on {port}")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not Path(SSHD).exists():
        pytest.skip("OpenSSH's sshd is not installed (Debian: openssh-server)")
    privsep = Path("/run/sshd")  # sshd refuses to start without its privilege separation dir
    if os.geteuid() == 0:
        privsep.mkdir(mode=0o755, exist_ok=True)
    elif not privsep.is_dir():
        pytest.skip("sshd needs /run/sshd, which only root can create")
    home = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key", "wrong_key"):
        _keygen(home / name)
    (home / "authorized_keys").write_text((home / "client_key.pub").read_text())
    port = free_port()
    host_public = (home / "host_key.pub").read_text().split()
    (home / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPidFile {home / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\nMaxStartups 100\n"
    )
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port, process)
        keys = (home / "client_key", home / "wrong_key", home / "known_hosts")
        yield Sshd(port, *keys, process, user=pwd.getpwuid(os.geteuid()).pw_name)
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- sockets that accept and never answer ---------------------------------------------------


@pytest.fixture(scope="session")
async def silent_tcp_port() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never sends a byte (a hung SSH daemon)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()


@pytest.fixture(scope="session")
def silent_libvirt_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A libvirt URI whose daemon socket accepts connections and never answers."""
    path = tmp_path_factory.mktemp("libvirt-hang") / "libvirt-sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(64)
    try:
        yield f"qemu+unix:///system?socket={path}"
    finally:
        listener.close()


# --- HTTP servers ---------------------------------------------------------------------------


@dataclass
class HttpServer:
    url: str
    mode: dict[str, Any] = field(default_factory=dict)
    received: list[Any] = field(default_factory=list)


async def _serve(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, port


async def _stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    server.force_exit = True
    await asyncio.wait_for(task, 15)


@pytest.fixture(scope="session")
async def gateway_server() -> AsyncIterator[HttpServer]:
    """An OpenClaw-gateway stand-in: `mode["status"]` and `mode["delay"]` shape the answer at
    `/`; `/hang` always takes 10 s."""
    state = HttpServer(url="")

    async def root(_request: Request) -> Response:
        await asyncio.sleep(state.mode.get("delay", 0.0))
        return PlainTextResponse("openclaw gateway", status_code=state.mode.get("status", 200))

    async def hang(_request: Request) -> Response:
        await asyncio.sleep(10.0)
        return PlainTextResponse("too late")

    server, task, port = await _serve(Starlette(routes=[Route("/", root), Route("/hang", hang)]))
    state.url = f"http://127.0.0.1:{port}/"
    try:
        yield state
    finally:
        await _stop(server, task)


@pytest.fixture(autouse=True)
def _reset_gateway_mode(request: pytest.FixtureRequest) -> None:
    if "gateway_server" in request.fixturenames:
        request.getfixturevalue("gateway_server").mode.clear()


@pytest.fixture(scope="session")
async def ingest_server() -> AsyncIterator[HttpServer]:
    """An ingest endpoint that keeps every POSTed batch; `mode["status"]` forces an error."""
    state = HttpServer(url="")

    async def events(request: Request) -> Response:
        status = state.mode.get("status", 200)
        if status != 200:
            return JSONResponse({"error": "unavailable"}, status_code=status)
        batch = json.loads(await request.body())
        state.received.append({"headers": dict(request.headers), "events": batch})
        return JSONResponse({"accepted": len(batch), "rejected": []})

    server, task, port = await _serve(
        Starlette(routes=[Route("/v1/events", events, methods=["POST"])])
    )
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await _stop(server, task)


@pytest.fixture(autouse=True)
def _reset_ingest(request: pytest.FixtureRequest) -> None:
    if "ingest_server" in request.fixturenames:
        server = request.getfixturevalue("ingest_server")
        server.mode.clear()
        server.received.clear()


class RegistryFile:
    """A registry JSON file the test rewrites; each write gets a new mtime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writes = 0

    def write(self, instances: list[dict[str, Any]] | Any) -> Path:
        document = {"instances": instances} if isinstance(instances, list) else instances
        self.path.write_text(json.dumps(document))
        self.writes += 1
        stamp = time.time() + self.writes  # mtime granularity must not hide a quick rewrite
        os.utime(self.path, (stamp, stamp))
        return self.path


@pytest.fixture
def registry_file(tmp_path: Path) -> RegistryFile:
    return RegistryFile(tmp_path / "openclaw-instances.json")
