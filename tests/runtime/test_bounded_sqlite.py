"""A large load on a real embedded server with retention running: the SQLite WAL stays under
its limit throughout, and retention deletes old rows in chunks while ingest goes on."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from bench.bench_wal import batch

from agentmon.store.sqlite import WAL_LIMIT_BYTES
from tests.conftest import start_embedded, wait_until

# 100k, not 200k: at ~1,800 events/s on this shared 2-core machine 200k took two minutes;
# 100k events still make a database (~80 MB) larger than the WAL limit, written through it
EVENTS = 100_000
PER_POST = 1000


@pytest.mark.timeout(600)
def test_wal_stays_under_its_limit_while_retention_runs_during_a_large_load(
    tmp_path: Path,
) -> None:
    env = {"AGENTMON_RETENTION_DAYS": "1", "AGENTMON_RETENTION_INTERVAL": "3s"}
    server = start_embedded(tmp_path / "data", env=env)
    database = tmp_path / "data" / "agentmon.db"
    wal = tmp_path / "data" / "agentmon.db-wal"
    largest = 0
    loading = threading.Event()
    loading.set()

    def watch_wal() -> None:
        nonlocal largest
        while loading.is_set():
            if wal.exists():
                largest = max(largest, wal.stat().st_size)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_wal)
    watcher.start()
    acks: list[float] = []
    try:
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(4) as pool:

            def post(index: int) -> int:
                body = batch(index, PER_POST)
                started = time.perf_counter()
                answer = client.post(
                    f"{server.ingest_url}/v1/events",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                acks.append(time.perf_counter() - started)
                return int(answer.json()["accepted"])

            accepted = sum(pool.map(post, range(EVENTS // PER_POST)))
        assert accepted == EVENTS

        def old_gone() -> bool:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
                query = "SELECT count(*) FROM events WHERE session_id LIKE 'old-%'"
                return int(conn.execute(query).fetchone()[0]) == 0

        wait_until(old_gone, 60, "retention to delete the old half")
    finally:
        loading.clear()
        watcher.join()
        server.stop()
    acks.sort()
    database_mb = database.stat().st_size / 1e6
    print(
        f"{EVENTS} events: largest WAL {largest / 1e6:.1f} MB (limit {WAL_LIMIT_BYTES / 1e6:.0f}); "
        f"ack p50 {acks[len(acks) // 2] * 1000:.0f} ms, max {acks[-1] * 1000:.0f} ms; "
        f"database {database_mb:.0f} MB"
    )
    assert largest <= WAL_LIMIT_BYTES
