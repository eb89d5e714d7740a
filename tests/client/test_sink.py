"""The asyncio sink of the monitor and the demo, against the real gateway."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from client_helpers import stored_ids

from agentmon.client.sink import DeliveryError, HttpSink
from agentmon.events import MAX_BODY_BYTES, Envelope, new_event


def snapshot(session: str, **payload: Any) -> Envelope:
    return new_event(
        "openclaw.snapshot",
        framework="openclaw",
        session_id=session,
        payload={"instance": "zap", **payload},
    )


async def test_delivers_to_the_gateway(embedded_server: Any) -> None:
    session = str(uuid.uuid4())
    sink = HttpSink(embedded_server.ingest_url)
    events = [snapshot(session) for _ in range(3)]
    await sink(events)
    await sink.aclose()
    assert sorted(stored_ids(embedded_server.query_url, session, 3)) == sorted(
        event.id for event in events
    )


async def test_a_refused_event_is_reported_and_its_neighbours_delivered(
    embedded_server: Any,
) -> None:
    session = str(uuid.uuid4())
    sink = HttpSink(embedded_server.ingest_url)
    good = [snapshot(session), snapshot(session)]
    huge = snapshot(session, blob="x" * (MAX_BODY_BYTES + 1))
    with pytest.raises(DeliveryError, match=r"1 event\(s\) refused: gateway answered 413"):
        await sink([good[0], huge, good[1]])
    assert sorted(stored_ids(embedded_server.query_url, session, 2)) == sorted(
        event.id for event in good
    )


async def test_items_the_gateway_rejects_are_logged(
    embedded_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    session = str(uuid.uuid4())
    bad = snapshot(session)
    bad.event.ts = "not a time"
    with caplog.at_level(logging.WARNING, logger="agentmon.client.sink"):
        await HttpSink(embedded_server.ingest_url)([bad, snapshot(session)])
    assert "event 0 (openclaw.snapshot) rejected" in caplog.text


async def test_an_unreachable_gateway_is_a_delivery_error(unused_port: int) -> None:
    sink = HttpSink(f"http://127.0.0.1:{unused_port}", attempts=2, budget=5.0)
    with pytest.raises(DeliveryError, match="not delivered: gateway unreachable"):
        await sink([snapshot("s")])
