"""What the credential check costs per request (issue 11): the `Guard` middleware in front
of a do-nothing app, with a stored read key (cached after the first lookup), with
AGENTMON_API_KEY, and with no credential configured at all. Prints the median microseconds
per request over ROUNDS rounds.

    .venv/bin/python bench/bench_auth.py [--rounds 7] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agentmon.auth import Guard, KeyRing, read_rule
from agentmon.config import Settings
from agentmon.store import open_store
from agentmon.store.keys import READ, create_key


async def nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


async def receive() -> dict[str, Any]:
    return {}


async def per_request_us(guard: Guard, token: str | None, rounds: int, requests: int) -> float:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    scope = {"type": "http", "path": "/v1/sessions", "headers": headers, "client": ("10.0.0.1", 1)}
    medians = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await guard(scope, receive, nothing)
        medians.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(medians)


async def opened_store() -> Any:
    store = open_store(Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-auth-"))))
    await store.open()
    return store


async def main(rounds: int, requests: int) -> None:
    keyed, empty = await opened_store(), await opened_store()
    try:
        key = await create_key(keyed, "bench", READ)
        api_key = "k" * 32
        cases = {
            "stored read key (cached)": (KeyRing(None, keyed), key),
            "AGENTMON_API_KEY": (KeyRing(api_key), api_key),
            "no credential configured": (KeyRing(None, empty), None),
        }
        for name, (keyring, token) in cases.items():
            guard = Guard(nothing, keyring, read_rule(False))
            median = await per_request_us(guard, token, rounds, requests)
            print(f"{name:26s} median {median:6.2f} µs/request ({rounds} rounds of {requests})")
    finally:
        await keyed.close()
        await empty.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.requests))
