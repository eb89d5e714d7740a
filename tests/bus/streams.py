"""Test streams are deleted after each test: a stream with a byte limit reserves that much
of the NATS server's JetStream storage, and leftovers from many runs exhaust it."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import nats
from nats.js.errors import NotFoundError


def delete_stream(url: str, name: str) -> None:
    async def delete() -> None:
        client = await nats.connect(url)
        try:
            with contextlib.suppress(NotFoundError):
                await client.jetstream().delete_stream(name)
        finally:
            await client.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, delete()).result()
