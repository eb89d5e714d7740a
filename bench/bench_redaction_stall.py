"""How long a big batch's redaction stalls the event loop: in a worker thread (as ingest
does for batches of 64 KiB of payload and more) versus on the loop itself.

    .venv/bin/python bench/bench_redaction_stall.py [--events 1500] [--rounds 5]

The real embedded write path (RedactingIntake → LocalBus → EmbeddedWriter → SQLite) accepts
one batch of events that each carry every kind of secret, while a ticker on the same loop
wakes every millisecond and records the longest gap between two wake-ups: the longest any
other request (a /healthz, a query) would have waited. Prints each round, then the medians
of the longest stall and of the time to accept the batch, for both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.redaction.test_off_the_loop import secret_events

from agentmon.bus.local import LocalBus
from agentmon.config import Settings
from agentmon.processor import BatchWriter, EmbeddedWriter
from agentmon.redaction import OFFLOAD_BYTES, RedactingIntake, build_redactor
from agentmon.store import open_store

NEVER = 2**62


async def longest_stall(done: asyncio.Event) -> float:
    longest, last = 0.0, time.perf_counter()
    while not done.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    return longest


async def one_round(events: int, offload_bytes: int, data_dir: Path) -> tuple[float, float]:
    store = open_store(Settings(data_dir=data_dir))
    await store.open()
    bus = LocalBus()
    writer = asyncio.create_task(EmbeddedWriter(bus, BatchWriter(store)).run())
    intake = RedactingIntake(bus, build_redactor(), offload_bytes)
    batch = secret_events(events)
    try:
        done = asyncio.Event()
        ticker = asyncio.create_task(longest_stall(done))
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        await intake.accept(batch)
        took = time.perf_counter() - started
        done.set()
        return await ticker, took
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await store.close()


async def main(args: argparse.Namespace) -> None:
    ways = {"worker thread": OFFLOAD_BYTES, "on the loop": NEVER}
    stalls: dict[str, list[float]] = {way: [] for way in ways}
    times: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for way, offload in ways.items():  # alternated: machine load falls on both
                data_dir = Path(tmp) / f"{way.replace(' ', '-')}-{round_no}"
                stall, took = await one_round(args.events, offload, data_dir)
                stalls[way].append(stall)
                times[way].append(took)
                print(
                    f"round {round_no + 1} {way}: longest stall {stall * 1000:.0f} ms, "
                    f"batch accepted in {took * 1000:.0f} ms"
                )
    for way in ways:
        print(
            f"{way}: median longest stall {statistics.median(stalls[way]) * 1000:.0f} ms, "
            f"median accept {statistics.median(times[way]) * 1000:.0f} ms "
            f"({args.events} events with secrets, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
