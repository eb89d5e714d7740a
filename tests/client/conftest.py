"""Peers for the client layer's tests: the real embedded gateway (tests/conftest.py) and a
small scripted gateway, a real HTTP server (uvicorn + Starlette on a free port) that answers
what a test tells it to (503 with Retry-After, 400 for a poison event) and keeps every batch
it received with the time it arrived."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from client_helpers import POISON, ScriptedGateway
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.conftest import free_port


@pytest.fixture
def scripted_gateway() -> Iterator[ScriptedGateway]:
    state = ScriptedGateway()

    async def events(request: Request) -> JSONResponse:
        batch = json.loads(await request.body())
        if state.answers:
            status, headers = state.answers.pop(0)
            state.received.append((time.monotonic(), []))
            return JSONResponse({"error": "scripted"}, status_code=status, headers=headers)
        state.received.append((time.monotonic(), batch))
        if any(event["event"]["type"] == POISON for event in batch):
            return JSONResponse({"error": "a poison event"}, status_code=400)
        state.accepted += batch
        return JSONResponse({"accepted": len(batch), "rejected": []})

    app = Starlette(routes=[Route("/v1/events", events, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield state
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def unused_port() -> int:
    """A local port nothing listens on: a gateway that is down."""
    return free_port()
