"""The OTLP receiver's routes in a Starlette app, fed to an intake that keeps events in a list."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from otlp_intake import MAX_BODY_BYTES, ListIntake
from starlette.applications import Starlette

from agentmon.otlp import routes


@pytest.fixture
def intake() -> ListIntake:
    return ListIntake()


@pytest.fixture
async def receiver(intake: ListIntake) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(intake, MAX_BODY_BYTES))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://otlp.test") as client:
        yield client
