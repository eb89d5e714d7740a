"""The ingest app in process (httpx's ASGI transport): answers per item, refusals by status."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.otlp.otlp_intake import ListIntake

from agentmon.events import new_event, to_dict
from agentmon.ingest import create_ingest_app
from agentmon.intake import IntakeUnavailable

JSON = {"content-type": "application/json"}


@pytest.fixture
def intake() -> ListIntake:
    return ListIntake()


@pytest.fixture
async def client(intake: ListIntake) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_ingest_app(intake))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        yield client


def event(**fields: Any) -> dict[str, Any]:
    return to_dict(new_event("session.start", framework="test", session_id="s", **fields))


async def test_a_batch_is_accepted_and_handed_to_the_intake(
    client: httpx.AsyncClient, intake: ListIntake
) -> None:
    batch = [event(), event()]
    answer = await client.post("/v1/events", content=json.dumps(batch), headers=JSON)
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 2, "rejected": []}
    assert [e.event.id for e in intake.events] == [e["event"]["id"] for e in batch]


async def test_one_bad_item_is_named_and_its_neighbours_accepted(
    client: httpx.AsyncClient, intake: ListIntake
) -> None:
    bad = {**event(), "payload": {"output": "a\u0000b"}}
    answer = await client.post("/v1/events", content=json.dumps([event(), bad]), headers=JSON)
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1
    assert "payload" in body["rejected"][0]["reason"]
    assert len(intake.events) == 1


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"[]", JSON, 400),
        (b"not json", JSON, 400),
        (json.dumps([event()]).encode(), {}, 415),
        (json.dumps([event()]).encode(), {"content-type": "text/plain"}, 415),
        (b"\x1f\x8b broken", {**JSON, "content-encoding": "gzip"}, 400),
    ],
)
async def test_refusals_have_a_status_and_a_sentence(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    answer = await client.post("/v1/events", content=body, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]


async def test_gzip_bodies_are_read(client: httpx.AsyncClient, intake: ListIntake) -> None:
    body = gzip.compress(json.dumps([event()]).encode())
    answer = await client.post(
        "/v1/events", content=body, headers={**JSON, "content-encoding": "gzip"}
    )
    assert answer.status_code == 200 and len(intake.events) == 1


async def test_an_unavailable_bus_is_503_with_retry_after(
    client: httpx.AsyncClient, intake: ListIntake
) -> None:
    intake.unavailable = IntakeUnavailable("bus down", retry_after=3)
    answer = await client.post("/v1/events", content=json.dumps([event()]), headers=JSON)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "3"
    health = await client.get("/healthz")
    assert health.status_code == 503


async def test_the_openapi_document_describes_the_ingest_path(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert "/v1/events" in document["paths"]
