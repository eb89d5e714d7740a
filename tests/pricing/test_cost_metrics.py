"""Tokens and cost on /metrics of a real embedded server, priced with the user's price file."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentmon.events import new_event, to_dict


def send(server: Any, events: list[Any]) -> None:
    response = httpx.post(f"{server.ingest_url}/v1/events", json=[to_dict(e) for e in events])
    assert response.status_code == 200 and response.json()["rejected"] == []


def samples(server: Any, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = httpx.get(f"{server.ingest_url}/metrics").text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def wait_for_session(server: Any, session_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.query_url}/v1/sessions/{session_id}")
        if response.status_code == 200 and response.json()["session"]["tokens"]["total"]:
            return dict(response.json()["session"])
        time.sleep(0.05)
    raise AssertionError(f"session {session_id} never got its usage")


def test_tokens_and_cost_are_counted_once_per_stored_call(
    make_embedded_server: Callable[..., Any], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."House-Model-7"]\ninput = 2.0\noutput = 10.0\n')
    server = make_embedded_server(env={"AGENTMON_PRICES": str(prices)})
    session_id = str(uuid.uuid4())
    common: dict[str, Any] = {"framework": "metrics-test", "host": "h", "session_id": session_id}
    usage = {"input_tokens": 500_000, "output_tokens": 100_000, "cache_read_tokens": 7}
    calls = [
        new_event("metric.snapshot", payload={"model": "House-Model-7", "usage": usage}, **common),
        new_event(
            "metric.snapshot",
            payload={"model": "house-model-7", "usage": usage, "cost_usd": 0.25},
            **common,
        ),
        new_event("metric.snapshot", payload={"model": "mystery", "usage": usage}, **common),
    ]
    send(server, calls)
    send(server, calls)  # a redelivery is stored once, so counted once
    marker = {**common, "session_id": str(uuid.uuid4())}
    send(server, [new_event("metric.snapshot", payload={"usage": usage}, **marker)])

    wait_for_session(server, marker["session_id"])  # stored after both batches
    session = wait_for_session(server, session_id)
    assert session["cost_source"] == "mixed"
    assert session["cost_usd"] == pytest.approx(1.0 + 1.0 + 0.25 + 7 * 2.0 / 1e6)

    tokens = samples(server, "agentmon_tokens_total")
    label = (("framework", "metrics-test"), ("kind", "input"), ("model", "house-model-7"))
    assert tokens[label] == 1_000_000  # two calls, whatever the model name's case
    output = (("framework", "metrics-test"), ("kind", "output"), ("model", "mystery"))
    assert tokens[output] == 100_000
    cost = samples(server, "agentmon_cost_usd_total")
    estimated = (("framework", "metrics-test"), ("model", "house-model-7"), ("source", "estimated"))
    reported = (("framework", "metrics-test"), ("model", "house-model-7"), ("source", "reported"))
    assert abs(cost[estimated] - (2.0 + 7 * 2.0 / 1e6)) < 1e-9
    assert cost[reported] == 0.25
    assert not any(dict(key)["model"] == "mystery" for key in cost)  # not priced: no cost
