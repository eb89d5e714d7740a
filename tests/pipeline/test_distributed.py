"""Distributed mode end to end: gateway, processors and query API as real processes over
real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.bus.streams import delete_stream
from tests.conftest import ServerProcess, free_port, free_ports, start_agentmon, wait_until
from websockets.sync.client import connect

from agentmon.events import new_event, to_dict

pytestmark = pytest.mark.services


class Cluster:
    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.processes: list[ServerProcess] = []

    def start(self, args: list[str], ports: dict[str, int], name: str) -> ServerProcess:
        process = start_agentmon(args, ports, self.tmp_path / f"{name}.log", self.env)
        self.processes.append(process)
        return process

    def start_gateway(self) -> ServerProcess:
        port = free_port()
        # healthy (what start waits for) once NATS and the database holding the keys answer
        return self.start(
            ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""],
            {"ingest": port},
            f"gateway{port}",
        )

    def start_processor(self) -> ServerProcess:
        port = free_port()
        process = start_agentmon(
            ["event-processor", "--metrics-addr", f"127.0.0.1:{port}"],
            {"metrics": port},
            self.tmp_path / f"processor{port}.log",
            self.env,
            health=[],
        )
        wait_until(lambda: _metrics_up(port), 30, "event-processor metrics")
        health = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: _status(health) == 200, 30, "event-processor consuming")
        self.processes.append(process)
        return process

    def start_query(self) -> ServerProcess:
        port = free_port()
        return self.start(
            ["query-api", "--addr", f"127.0.0.1:{port}"], {"query": port}, f"query{port}"
        )

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def _metrics_up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cluster(
    tmp_path: Path, nats_url: str, database_url: str, nats_names: dict[str, str]
) -> Iterator[Cluster]:
    env = {"NATS_URL": nats_url, "DATABASE_URL": database_url, **nats_names}
    started = Cluster(tmp_path, env)
    yield started
    started.stop()
    delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])


def batch(session: str, count: int, framework: str = "pytest") -> list[dict[str, Any]]:
    return [
        to_dict(
            new_event(
                "span.end",
                framework=framework,
                host="ci",
                session_id=session,
                run_id=f"{session}-run",
                span_id=str(uuid.uuid4()),
                payload={"kind": "tool", "name": "Bash", "status": "ok"},
            )
        )
        for _ in range(count)
    ]


def post(gateway: ServerProcess, events: list[dict[str, Any]]) -> int:
    response = httpx.post(f"{gateway.ingest_url}/v1/events", json=events, timeout=30)
    response.raise_for_status()
    return int(response.json()["accepted"])


def stored_count(dsn: str) -> tuple[int, int]:
    """(rows in events, events counted by the per-minute rollup): both must match accepted."""

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetchval("SELECT count(*) FROM events")
            rolled = await conn.fetchval("SELECT coalesce(sum(events), 0) FROM rollup_minute")
            return int(rows), int(rolled)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, count()).result()


def test_events_flow_through_gateway_processor_and_query_api_and_live_feed(
    cluster: Cluster,
) -> None:
    gateway = cluster.start_gateway()
    cluster.start_processor()
    query = cluster.start_query()
    health = httpx.get(f"{gateway.ingest_url}/healthz").json()
    assert health == {"status": "ok", "bus": "ok", "keys": "ok"}
    session = str(uuid.uuid4())
    live_url = query.query_url.replace("http", "ws") + f"/v1/ws?session_id={session}"
    with connect(live_url) as ws:
        assert json.loads(ws.recv())["type"] == "hello"
        start = to_dict(
            new_event(
                "session.start",
                framework="pytest",
                host="ci",
                session_id=session,
                payload={"title": "distributed"},
            )
        )
        assert post(gateway, [start, *batch(session, 5)]) == 6
        received: list[dict[str, Any]] = []
        while len(received) < 6:
            frame = json.loads(ws.recv(timeout=10))
            assert frame["type"] == "events"
            received += frame["events"]
    assert {e["correlation"]["session_id"] for e in received} == {session}
    detail = httpx.get(f"{query.query_url}/v1/sessions/{session}").json()
    assert detail["session"]["title"] == "distributed"
    assert detail["session"]["tool_count"] == 5


def test_two_gateways_two_processors_store_everything_once(
    cluster: Cluster, database_url: str
) -> None:
    gateways = [cluster.start_gateway(), cluster.start_gateway()]
    cluster.start_processor()
    cluster.start_processor()
    sessions = [str(uuid.uuid4()) for _ in range(40)]
    with ThreadPoolExecutor(8) as pool:
        accepted = sum(
            pool.map(lambda i: post(gateways[i % 2], batch(sessions[i], 100)), range(40))
        )
    assert accepted == 4000
    wait_until(lambda: stored_count(database_url) == (4000, 4000), 60, "4000 events stored once")
    events = batch(sessions[0], 50)
    assert post(gateways[0], events) == 50
    assert post(gateways[1], events) == 50  # a producer's retry through another gateway
    wait_until(
        lambda: stored_count(database_url) == (4050, 4050), 60, "the retried batch stored once"
    )


def test_kill_9_of_the_processor_mid_stream_loses_and_duplicates_nothing(
    cluster: Cluster, database_url: str
) -> None:
    gateway = cluster.start_gateway()
    processor = cluster.start_processor()
    accepted = 0
    stop_posting = threading.Event()

    def produce() -> None:
        nonlocal accepted
        for i in range(150):
            if stop_posting.is_set():
                return
            accepted += post(gateway, batch(f"kill-{i}", 100))

    producer = threading.Thread(target=produce)
    producer.start()
    wait_until(lambda: stored_count(database_url)[0] > 2000, 60, "the processor to be mid-stream")
    processor.stop("kill")
    time.sleep(0.5)
    cluster.start_processor()
    producer.join(timeout=120)
    stop_posting.set()
    assert accepted >= 2000
    wait_until(
        lambda: stored_count(database_url) == (accepted, accepted),
        90,
        f"{accepted} events stored exactly once",
    )


def test_poison_message_is_dead_lettered_and_does_not_block(
    cluster: Cluster, database_url: str, nats_url: str, nats_names: dict[str, str]
) -> None:
    import nats

    cluster.start_processor()
    gateway = cluster.start_gateway()

    async def publish_garbage() -> None:
        client = await nats.connect(nats_url)
        await client.jetstream().publish(nats_names["NATS_TOPIC"], b"this is not a batch of events")
        await client.close()

    asyncio.run(publish_garbage())
    assert post(gateway, batch("after-poison", 10)) == 10
    wait_until(lambda: stored_count(database_url)[0] == 10, 30, "events after the poison message")

    async def letters() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return [r["reason"] for r in await conn.fetch("SELECT reason FROM dead_letters")]
        finally:
            await conn.close()

    reasons = asyncio.run(letters())
    assert len(reasons) == 1 and "undecodable" in reasons[0]


def test_gateway_without_nats_waits_answering_503(tmp_path: Path) -> None:
    port, dead_nats = free_ports(2)
    gateway = start_agentmon(
        ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""],
        {"ingest": port},
        tmp_path / "gw.log",
        {"NATS_URL": f"nats://127.0.0.1:{dead_nats}"},
        health=[],
    )
    try:
        health = f"{gateway.ingest_url}/healthz"
        wait_until(lambda: _status(health) == 503, 30, "the gateway to answer 503")
        time.sleep(2)
        assert gateway.process.poll() is None
        assert _status(health) == 503
    finally:
        gateway.stop()


def _status(url: str) -> int:
    """The status a GET gets; 0 when none."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_gateway_is_not_healthy_until_it_can_check_keys(
    tmp_path: Path, nats_url: str, nats_names: dict[str, str]
) -> None:
    port, dead_database = free_ports(2)
    gateway = start_agentmon(
        ["ingest-gateway", "--addr", f"127.0.0.1:{port}", "--otlp-addr", ""],
        {"ingest": port},
        tmp_path / "gw.log",
        {
            "NATS_URL": nats_url,
            **nats_names,
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead_database}/nothing",
        },
        health=[],
    )
    try:
        health = f"{gateway.ingest_url}/healthz"
        wait_until(lambda: _status(health) == 503, 30, "the gateway to answer 503")
        report = httpx.get(health, timeout=2).json()
        assert report["bus"] == "ok" and report["keys"] == "connecting"
    finally:
        gateway.stop()
        delete_stream(nats_url, nats_names["AGENTMON_NATS_STREAM"])
