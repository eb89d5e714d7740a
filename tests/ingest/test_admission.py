"""Admission: POSTs beyond the in-flight bound, or while the event loop runs late, are
refused with 503 and Retry-After before the app (or the body) is touched; other requests
pass. Through a real ASGI stack (httpx's ASGI transport), nothing timed."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentmon.ingest.admission import Admission


class HeldApp:
    """An ingest stand-in whose POSTs wait until released, counting the bodies it read."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.bodies_read = 0
        self.app = Starlette(
            routes=[
                Route("/v1/events", self.post, methods=["POST"]),
                Route("/healthz", self.healthz),
            ]
        )

    async def post(self, request: Request) -> Response:
        await request.body()
        self.bodies_read += 1
        await self.release.wait()
        return JSONResponse({"accepted": 1})

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def client_for(admission: Admission, held: HeldApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=admission.guard(held.app))
    return httpx.AsyncClient(transport=transport, base_url="http://ingest.test")


async def test_posts_beyond_the_in_flight_bound_get_503_with_retry_after_unread() -> None:
    admission, held = Admission(max_in_flight=2), HeldApp()
    async with client_for(admission, held) as client:
        waiting = [asyncio.create_task(client.post("/v1/events", content=b"[]")) for _ in range(2)]
        while admission.in_flight < 2:
            await asyncio.sleep(0.01)
        refused = await client.post("/v1/events", content=b"[]")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {"error": "2 requests are being handled; retry shortly"}
        assert held.bodies_read == 2  # the refused body was never read
        assert (await client.get("/healthz")).status_code == 200  # not a POST: not counted
        held.release.set()
        assert [(await task).status_code for task in waiting] == [200, 200]
        assert admission.in_flight == 0
        assert (await client.post("/v1/events", content=b"[]")).status_code == 200


async def test_posts_are_refused_while_the_event_loop_runs_late() -> None:
    admission, held = Admission(max_in_flight=100, max_lag_s=0.2), HeldApp()
    held.release.set()
    async with client_for(admission, held) as client:
        assert (await client.post("/v1/events", content=b"[]")).status_code == 200
        time.sleep(0.3)  # the loop is blocked: its lag timer is now at least 0.25 s overdue
        refused = await client.post("/v1/events", content=b"[]")
        assert refused.status_code == 503
        assert "overloaded" in refused.json()["error"]
        assert held.bodies_read == 1
