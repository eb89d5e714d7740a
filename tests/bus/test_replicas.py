"""AGENTMON_NATS_REPLICAS: how many copies of the stream agentmon asks JetStream for when it
creates it. Real nats-servers: a three-server cluster on loopback, and the single server."""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentmon.bus.nats import NatsBus, StreamMismatch
from agentmon.config import SettingError, Settings
from tests.bus.streams import delete_stream
from tests.conftest import BIN, free_ports, port_open, wait_until

pytestmark = pytest.mark.services


def _bus(url: str, names: dict[str, str], replicas: int) -> NatsBus:
    fields = {"NATS_TOPIC": "nats_topic", "AGENTMON_NATS_STREAM": "nats_stream"}
    fields["AGENTMON_NATS_CONSUMER"] = "nats_consumer"
    settings = {fields[name]: value for name, value in names.items()}
    return NatsBus(
        Settings.load({"nats_url": url, "nats_replicas": replicas, **settings}, env_file="")
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """Three clustered nats-servers with JetStream, each on its own loopback ports."""
    binary = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    if binary is None:
        pytest.skip("nats-server is not installed")
    ports = free_ports(6)
    client_ports, route_ports = ports[:3], ports[3:]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
    processes = []
    for index in range(3):
        command = [binary, "-a", "127.0.0.1", "-p", str(client_ports[index]), "-js"]
        command += ["-sd", str(tmp_path / f"n{index}"), "-n", f"n{index}"]
        command += ["--cluster_name", "replicas", "-cluster"]
        command += [f"nats://127.0.0.1:{route_ports[index]}", "-routes", routes]
        log = (tmp_path / f"n{index}.log").open("w")
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    try:
        for port in client_ports:
            wait_until(functools.partial(port_open, "127.0.0.1", port), 15, "nats-server")
        yield ",".join(f"nats://127.0.0.1:{port}" for port in client_ports)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


async def test_on_a_cluster_the_stream_is_created_with_the_copies_asked_for(
    cluster: str, nats_names: dict[str, str]
) -> None:
    bus = _bus(cluster, nats_names, 3)
    for _ in range(60):  # the cluster elects its JetStream meta leader first
        try:
            await bus.connect()
            break
        except (ConnectionError, StreamMismatch, TimeoutError):
            await bus.close()
            await asyncio.sleep(0.5)
    else:
        raise AssertionError("the cluster never took the stream")
    try:
        info = await bus.js.stream_info(bus.stream)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2
    finally:
        await bus.close()


async def test_a_single_server_refuses_three_copies_naming_the_setting(
    nats_url: str, nats_names: dict[str, str]
) -> None:
    bus = _bus(nats_url, nats_names, 3)
    with pytest.raises(StreamMismatch, match="AGENTMON_NATS_REPLICAS=1"):
        await bus.connect()
    await bus.close()


async def test_an_existing_stream_keeps_its_copies_and_a_warning_says_so(
    nats_url: str, nats_names: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    first = _bus(nats_url, nats_names, 1)
    await first.connect()
    await first.close()
    caplog.set_level(logging.WARNING, "agentmon.bus.nats")
    second = _bus(nats_url, nats_names, 3)
    await second.connect()
    try:
        assert (await second.js.stream_info(second.stream)).config.num_replicas == 1
        assert "AGENTMON_NATS_REPLICAS asks for 3" in caplog.text
    finally:
        await second.close()
        delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])


@pytest.mark.parametrize("raw", ["0", "6", "three", "-1", "3.0"])
def test_a_bad_replica_count_is_refused_naming_the_setting(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTMON_NATS_REPLICAS", raw)
    with pytest.raises(SettingError, match="AGENTMON_NATS_REPLICAS"):
        Settings.load(env_file="")
