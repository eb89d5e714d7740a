"""The hostile-body corpus against a real embedded server and a real gateway + processor
(NATS JetStream, PostgreSQL): zero 5xx, and every accepted neighbour of a hostile event is
stored."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tests.conftest import ServerProcess, wait_until
from tests.ingest.hostile import corpus, post_case
from tests.pipeline.test_distributed import Cluster, cluster  # noqa: F401  (fixture)


def sqlite_ids(data_dir: Path, ids: list[str]) -> set[str]:
    conn = sqlite3.connect(f"file:{data_dir / 'agentmon.db'}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" * len(ids))
        rows = conn.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", ids)
        return {row[0] for row in rows}
    finally:
        conn.close()


def postgres_ids(dsn: str, ids: list[str]) -> set[str]:
    async def fetch() -> set[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT event_id FROM events WHERE event_id = ANY($1)", ids)
            return {row["event_id"] for row in rows}
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result()


def test_hostile_bodies_embedded(make_embedded_server: Any) -> None:
    server: ServerProcess = make_embedded_server()
    accepted = [event_id for case in corpus() for event_id in post_case(server.ingest_url, case)]
    assert accepted
    assert server.data_dir is not None
    assert sqlite_ids(server.data_dir, accepted) == set(accepted)
    assert " 500 " not in server.log() and "Traceback" not in server.log()


@pytest.mark.services
def test_hostile_bodies_distributed(cluster: Cluster, database_url: str) -> None:  # noqa: F811
    gateway = cluster.start_gateway()
    cluster.start_processor()
    accepted = [event_id for case in corpus() for event_id in post_case(gateway.ingest_url, case)]
    wanted = set(accepted)
    wait_until(lambda: postgres_ids(database_url, accepted) == wanted, 30, "accepted ids stored")
    for process in cluster.processes:
        assert "Traceback" not in process.log(), process.log()[-2000:]
