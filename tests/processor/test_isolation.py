"""Isolation in depth: when the store refuses one event of a batch (forced here by a
database trigger, the worst case validation cannot catch), every other event of that
batch, message or group commit is stored, only the refused one is dead-lettered, and no
client is answered 503. Real servers, real SQLite, real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import ServerProcess, wait_until
from tests.ingest.hostile import valid_event
from tests.ingest.test_hostile_bodies import postgres_ids, sqlite_ids
from tests.pipeline.test_distributed import Cluster, cluster  # noqa: F401  (fixture)

MARK = "refused-by-the-test-trigger"
SQLITE_TRIGGER = f"""
CREATE TRIGGER test_refuse BEFORE INSERT ON events WHEN NEW.payload LIKE '%{MARK}%'
BEGIN SELECT RAISE(ABORT, 'the test trigger refuses this event'); END
"""
POSTGRES_TRIGGER = [
    f"""CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.payload::text LIKE '%{MARK}%' THEN
        RAISE EXCEPTION 'the test trigger refuses this event';
      END IF;
      RETURN NEW;
    END $$""",
    "CREATE TRIGGER test_refuse BEFORE INSERT ON events "
    "FOR EACH ROW EXECUTE FUNCTION test_refuse()",
]


def poison() -> dict[str, Any]:
    """Valid by every rule of the envelope, refused by the store's trigger."""
    return valid_event("span.end", kind="tool", name="Bash", output=MARK)


def post(url: str, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{url}/v1/events", json=events, timeout=60)


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [event["event"]["id"] for event in events]


def sqlite_dead_letters(data_dir: Path) -> list[tuple[str, bytes]]:
    conn = sqlite3.connect(f"file:{data_dir / 'agentmon.db'}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT reason, data FROM dead_letters"))
    finally:
        conn.close()


def test_embedded_poison_never_fails_its_neighbours_or_other_clients(
    make_embedded_server: Any,
) -> None:
    first: ServerProcess = make_embedded_server()
    data_dir = first.data_dir
    assert data_dir is not None
    first.stop()
    with sqlite3.connect(data_dir / "agentmon.db") as conn:
        conn.execute(SQLITE_TRIGGER)
    server: ServerProcess = make_embedded_server(data_dir=data_dir)

    innocent: list[str] = []
    poisoned: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def poison_client() -> None:
        for _ in range(15):
            batch = [valid_event(), poison(), valid_event()]
            response = post(server.ingest_url, batch)
            with lock:
                statuses.append(response.status_code)
                innocent.extend(ids([batch[0], batch[2]]))
                poisoned.append(batch[1]["event"]["id"])

    def innocent_client() -> None:
        for _ in range(30):
            batch = [valid_event() for _ in range(20)]
            response = post(server.ingest_url, batch)
            with lock:
                statuses.append(response.status_code)
                innocent.extend(ids(batch))

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(poison_client) for _ in range(2)]
        futures += [pool.submit(innocent_client) for _ in range(4)]
        for future in futures:
            future.result()

    assert set(statuses) == {200}
    assert sqlite_ids(data_dir, innocent) == set(innocent)
    assert sqlite_ids(data_dir, poisoned) == set()
    letters = sqlite_dead_letters(data_dir)
    assert len(letters) == len(poisoned)
    assert {json.loads(data)["event"]["id"] for _, data in letters} == set(poisoned)
    assert all("test trigger refuses" in reason for reason, _ in letters)


@pytest.mark.services
def test_distributed_poison_is_dead_lettered_alone(
    cluster: Cluster,  # noqa: F811
    database_url: str,
) -> None:
    cluster.start_processor()  # migrates the database, so the trigger has a table

    async def add_trigger() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for statement in POSTGRES_TRIGGER:
                await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, add_trigger()).result()
    gateway = cluster.start_gateway()
    neighbours = [valid_event() for _ in range(5)]
    bad = poison()
    response = post(gateway.ingest_url, [*neighbours[:2], bad, *neighbours[2:]])
    assert response.json() == {"accepted": 6, "rejected": []}
    others = [valid_event() for _ in range(10)]
    assert post(gateway.ingest_url, others).status_code == 200
    wanted = set(ids(neighbours + others))
    wait_until(
        lambda: postgres_ids(database_url, list(wanted)) == wanted, 30, "the neighbours stored"
    )

    async def letters() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return list(await conn.fetch("SELECT reason, data FROM dead_letters"))
        finally:
            await conn.close()

    def dead() -> list[asyncpg.Record]:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, letters()).result()

    wait_until(lambda: len(dead()) == 1, 30, "the poison dead-lettered")
    [letter] = dead()
    assert json.loads(letter["data"])["event"]["id"] == bad["event"]["id"]
    assert "test trigger refuses" in letter["reason"]
    assert postgres_ids(database_url, [bad["event"]["id"]]) == set()
