"""500 real WebSocket viewers on a real embedded server: /healthz keeps answering, ingest
keeps accepting, and every viewer gets every event or is told how many it missed; the
501st viewer is refused with a close reason naming the cap."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from agentmon.events import encode_many, new_event
from tests.conftest import ServerProcess, start_embedded

VIEWERS = 500
POSTS, PER_POST = 40, 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"AGENTMON_LIVE_MAX_VIEWERS": str(VIEWERS)}
    started = start_embedded(tmp_path_factory.mktemp("viewers") / "data", env=env)
    yield started
    started.stop()


class Viewer:
    def __init__(self) -> None:
        self.events = 0
        self.dropped = 0

    async def watch(self, ws: websockets.ClientConnection, expected: int) -> None:
        while self.events + self.dropped < expected:
            frame = json.loads(await ws.recv())
            if frame["type"] == "events":
                self.events += len(frame["events"])
            elif frame["type"] == "dropped":
                self.dropped += frame["count"]


async def _healthz_probes(url: str, stop: asyncio.Event) -> list[int]:
    answers = []
    async with httpx.AsyncClient(timeout=2) as client:
        while not stop.is_set():
            try:
                answers.append((await client.get(f"{url}/healthz")).status_code)
            except httpx.TimeoutException:
                answers.append(0)
            await asyncio.sleep(0.25)
    return answers


async def _post_steadily(url: str) -> int:
    accepted = 0
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(POSTS):
            batch = [new_event("span.start", framework="viewers") for _ in range(PER_POST)]
            answer = await client.post(
                f"{url}/v1/events",
                content=encode_many(batch),
                headers={"content-type": "application/json"},
            )
            accepted += answer.json()["accepted"]
            await asyncio.sleep(0.05)
    return accepted


@pytest.mark.timeout(180)
async def test_500_viewers_leave_healthz_and_ingest_answering(server: ServerProcess) -> None:
    url = server.query_url.replace("http", "ws") + "/v1/ws?framework=viewers"
    connections = []
    try:
        for _ in range(VIEWERS):
            ws = await websockets.connect(url, open_timeout=20, max_size=None)
            assert json.loads(await ws.recv())["type"] == "hello"
            connections.append(ws)
        with pytest.raises(ConnectionClosed) as refused:
            async with websockets.connect(url, open_timeout=20) as extra:
                await asyncio.wait_for(extra.recv(), 10)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 1013
        assert "AGENTMON_LIVE_MAX_VIEWERS" in refused.value.rcvd.reason

        viewers = [Viewer() for _ in connections]
        expected = POSTS * PER_POST
        watching = [
            asyncio.create_task(v.watch(ws, expected))
            for v, ws in zip(viewers, connections, strict=True)
        ]
        stop = asyncio.Event()
        probes = asyncio.create_task(_healthz_probes(server.query_url, stop))
        started = time.monotonic()
        accepted = await _post_steadily(server.ingest_url)
        await asyncio.wait_for(asyncio.gather(*watching), 60)
        stop.set()
        answers = await probes
    finally:
        await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)
    assert accepted == expected
    assert answers and all(code == 200 for code in answers), answers
    assert all(v.events + v.dropped == expected for v in viewers)
    assert all(v.events > 0 for v in viewers)
    print(
        f"{VIEWERS} viewers, {expected} events in {time.monotonic() - started:.1f}s; "
        f"dropped per viewer max {max(v.dropped for v in viewers)}"
    )
