"""The ingest gateway's answers, through a real embedded server."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from agentmon.events import MAX_BATCH_EVENTS, new_event, to_dict


def envelope(**overrides: Any) -> dict[str, Any]:
    event = to_dict(
        new_event("session.start", framework="pytest", host="ci", session_id=str(uuid.uuid4()))
    )
    for path, value in overrides.items():
        target = event
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return event


def post(server: Any, body: bytes, **headers: str) -> httpx.Response:
    headers.setdefault("content-type", "application/json")
    if not headers["content-type"]:
        del headers["content-type"]
    return httpx.post(f"{server.ingest_url}/v1/events", content=body, headers=headers)


def test_healthz_reports_the_bus(embedded_server: Any) -> None:
    answer = httpx.get(f"{embedded_server.ingest_url}/healthz").json()
    assert answer == {"status": "ok", "bus": "ok"}


def test_batch_answers_each_rejected_item_by_index(embedded_server: Any) -> None:
    good = envelope()
    batch = [
        good,
        envelope(event__type="session.begin"),
        envelope(event__ts="yesterday"),
        envelope(schema__version=2),
        envelope(event__id=None),
        envelope(event__source__framework=7),
    ]
    response = post(embedded_server, json.dumps(batch).encode())
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 1
    reasons = {item["index"]: item["reason"] for item in answer["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert "unknown event.type 'session.begin'" in reasons[1]
    assert "event.ts 'yesterday'" in reasons[2]
    assert "schema.version 2" in reasons[3]
    assert "missing required field `id`" in reasons[4]
    assert "framework" in reasons[5] and "str" in reasons[5]


def test_a_single_object_is_accepted_and_stored(embedded_server: Any) -> None:
    event = envelope()
    assert post(embedded_server, json.dumps(event).encode()).json() == {
        "accepted": 1,
        "rejected": [],
    }
    session = httpx.get(
        f"{embedded_server.query_url}/v1/sessions/{event['correlation']['session_id']}"
    )
    assert session.status_code == 200
    assert session.json()["session"]["framework"] == "pytest"


def test_gzip_bodies_are_accepted(embedded_server: Any) -> None:
    body = gzip.compress(json.dumps([envelope(), envelope()]).encode())
    response = post(embedded_server, body, **{"content-encoding": "gzip"})
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b"42", {}, 400, "JSON array"),
        (b"[]", {"content-type": "text/plain"}, 415, "not JSON"),
        (b"\x1f\x8b garbage", {"content-encoding": "gzip"}, 400, "gzip"),
        (b"[]", {"content-encoding": "br"}, 415, "content-encoding"),
        (b"[{}]", {"content-type": ""}, 415, "content-type is missing"),
        (b"[]", {}, 400, "empty"),
        (b" [ ] ", {}, 400, "empty"),
    ],
)
def test_bad_bodies_get_a_clear_4xx(
    embedded_server: Any, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    response = post(embedded_server, body, **headers)
    assert response.status_code == status
    assert words in response.json()["error"]


def test_all_invalid_batch_is_a_400_with_reasons(embedded_server: Any) -> None:
    response = post(embedded_server, json.dumps([envelope(event__type="nope")]).encode())
    assert response.status_code == 400
    assert response.json()["rejected"][0]["index"] == 0


def test_too_many_events_is_413(embedded_server: Any) -> None:
    batch = [envelope()] * (MAX_BATCH_EVENTS + 1)
    response = post(embedded_server, json.dumps(batch).encode())
    assert response.status_code == 413
    assert str(MAX_BATCH_EVENTS) in response.json()["error"]


def test_oversize_body_is_413(embedded_server: Any) -> None:
    response = post(embedded_server, b"[" + b" " * (17 * 1024 * 1024) + b"]")
    assert response.status_code == 413


def test_oversize_gzip_bomb_is_413(embedded_server: Any) -> None:
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]")
    response = post(embedded_server, bomb, **{"content-encoding": "gzip"})
    assert response.status_code == 413


def test_websocket_answers_each_frame_in_order(embedded_server: Any) -> None:
    url = embedded_server.ingest_url.replace("http", "ws") + "/v1/ws"
    with connect(url) as ws:
        ws.send(json.dumps([envelope(), envelope()]))
        assert json.loads(ws.recv()) == {"accepted": 2, "rejected": []}
        ws.send(json.dumps(envelope(event__type="bad")))
        answer = json.loads(ws.recv())
        assert answer["accepted"] == 0 and answer["rejected"][0]["index"] == 0
        ws.send("not json")
        assert json.loads(ws.recv())["status"] == 400


def test_api_key_protects_ingest_but_not_health(make_embedded_server: Any) -> None:
    server = make_embedded_server(env={"AGENTMON_API_KEY": "s3cret"})
    body = json.dumps([envelope()]).encode()
    assert post(server, body).status_code == 401
    assert post(server, body, authorization="Bearer s3cret").json()["accepted"] == 1
    assert httpx.get(f"{server.ingest_url}/healthz").status_code == 200


def test_openapi_document_describes_ingest(embedded_server: Any) -> None:
    document = httpx.get(f"{embedded_server.ingest_url}/openapi.json").json()
    post_events = document["paths"]["/v1/events"]["post"]
    assert {"200", "400", "413", "415", "503"} <= set(post_events["responses"])
    assert "Envelope" in document["components"]["schemas"]
