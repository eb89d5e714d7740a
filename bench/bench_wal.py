"""SQLite sizes under a large embedded load with retention running: the largest WAL and
database file seen during the load, and both after it, with acknowledgement latency.

    .venv/bin/python bench/bench_wal.py --events 1000000
    .venv/bin/python bench/bench_wal.py --events 200000 --posters 4

Half of the batches are dated three days back and retention keeps one day, checking every few
seconds, so retention deletes (in chunks) while ingest goes on. Sizes are sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_live import percentile
from tests.conftest import start_embedded

from agentmon.events import encode_many, new_event


def batch(index: int, per_post: int) -> bytes:
    old = index % 2 == 0
    ts = datetime.now(UTC) - (timedelta(days=3) if old else timedelta(0))
    session = f"{'old' if old else 'new'}-{index}"
    return encode_many(
        [
            new_event(
                "span.end",
                framework="bench-wal",
                session_id=session,
                run_id=f"{session}-r",
                span_id=f"{session}-{n}",
                ts=ts,
                payload={"kind": "tool", "name": "Bash", "status": "ok", "output": "x" * 200},
            )
            for n in range(per_post)
        ]
    )


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-post", type=int, default=100)
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--settle", type=float, default=60, help="seconds to watch after")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="agentmon-wal-")) / "data"
    env = {"AGENTMON_RETENTION_DAYS": "1", "AGENTMON_RETENTION_INTERVAL": "5s"}
    server = start_embedded(data, env=env)
    database, wal = data / "agentmon.db", data / "agentmon.db-wal"
    largest = {"wal": 0, "db": 0}
    loading = threading.Event()
    loading.set()

    def watch() -> None:
        while loading.is_set():
            largest["wal"] = max(largest["wal"], size(wal))
            largest["db"] = max(largest["db"], size(database))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    acks: list[float] = []
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=120) as client, ThreadPoolExecutor(args.posters) as pool:

            def post(index: int) -> None:
                body = batch(index, args.per_post)
                sent = time.perf_counter()
                answer = client.post(
                    f"{server.ingest_url}/v1/events",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                answer.raise_for_status()
                acks.append(time.perf_counter() - sent)

            list(pool.map(post, range(args.events // args.per_post)))
        took = time.perf_counter() - started
        time.sleep(args.settle)  # retention's next rounds, checkpoints and incremental vacuum
    finally:
        loading.clear()
        watcher.join()
        server.stop()
    rate = args.events / took
    print(f"{args.events} events in {took:.0f}s ({rate:.0f}/s), half older than retention")
    print(
        f"largest during the load: WAL {largest['wal'] / 1e6:.1f} MB, "
        f"database {largest['db'] / 1e6:.1f} MB"
    )
    after = f"WAL {size(wal) / 1e6:.1f} MB, database {size(database) / 1e6:.1f} MB"
    print(f"after {args.settle:.0f}s more: {after}")
    print(
        f"ack ms per {args.per_post}-event POST: p50 {statistics.median(acks) * 1000:.0f}  "
        f"p99 {percentile(acks, 0.99) * 1000:.0f}  max {max(acks) * 1000:.0f}  "
        f"(slower than 1 s: {sum(a > 1 for a in acks)} of {len(acks)})"
    )


if __name__ == "__main__":
    main()
