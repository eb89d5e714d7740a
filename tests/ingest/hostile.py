"""A corpus of hostile request bodies for the ingest gateway, and what each must get back.

Every case is a 4xx (never a 5xx); where the body holds a valid event beside a hostile one,
the valid one is accepted (and must then be stored) and the hostile one is refused by
index with a reason naming the field."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agentmon.events import MAX_BATCH_EVENTS, new_event, to_dict


def valid_event(event_type: str = "span.end", **payload: Any) -> dict[str, Any]:
    session = str(uuid.uuid4())
    return to_dict(
        new_event(
            event_type,
            framework="hostile",
            host="ci",
            session_id=session,
            run_id=f"{session}-run",
            span_id=str(uuid.uuid4()),
            payload=payload or {"kind": "tool", "name": "Bash", "status": "ok"},
        )
    )


def with_changes(event_type: str = "metric.snapshot", **changes: Any) -> bytes:
    """A valid event encoded, with `payload` replaced and header fields overridden."""
    event = valid_event(event_type)
    event["payload"] = changes.pop("payload", {})
    if "ts" in changes:
        event["event"]["ts"] = changes.pop("ts")
    assert not changes
    return json.dumps(event).encode()


@dataclass
class Case:
    name: str
    body: bytes
    status: int
    words: str
    headers: dict[str, str] = field(default_factory=dict)
    valid_ids: list[str] = field(default_factory=list)
    """Ids of the valid neighbours in the body: accepted, and must be stored."""


def beside_valid(name: str, hostile: bytes, words: str) -> Case:
    """[valid, hostile]: 200, the valid one accepted, the hostile one refused at index 1."""
    good = valid_event()
    body = b"[" + json.dumps(good).encode() + b"," + hostile + b"]"
    return Case(name, body, 200, words, valid_ids=[good["event"]["id"]])


def _ts(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def corpus() -> list[Case]:
    deep_text = b'{"a":' * 2000 + b"1" + b"}" * 2000
    deep_event = with_changes(payload={"x": "PLACEHOLDER"}).replace(b'"PLACEHOLDER"', deep_text)
    return [
        beside_valid(
            "invalid UTF-8 in a string",
            with_changes(payload={"output": "PLACEHOLDER"}).replace(b"PLACEHOLDER", b"\xff\xfe"),
            "UTF-8",
        ),
        beside_valid("NUL in a value", with_changes(payload={"output": "a\u0000b"}), "NUL"),
        beside_valid("NUL in a key", with_changes(payload={"a\u0000b": 1}), "NUL"),
        beside_valid("NUL in an id", _nul_session(), "correlation.session_id"),
        beside_valid("100-deep payload", with_changes(payload={"x": nested(100)}), "deeper"),
        Case("2,000-deep payload", b"[" + deep_event + b"]", 400, "nests too deeply", valid_ids=[]),
        beside_valid(
            "integer beyond int64",
            with_changes("span.end", payload={"duration_ms": 2**70}),
            "64-bit",
        ),
        beside_valid(
            "integer beyond int64 anywhere", with_changes(payload={"n": -(2**64)}), "64-bit"
        ),
        beside_valid("cost NaN", with_changes(payload={"cost_usd": "NaN"}), "cost_usd"),
        beside_valid("cost Infinity", with_changes(payload={"cost_usd": "Infinity"}), "cost_usd"),
        beside_valid(
            "cost 1e400",
            with_changes(payload={"cost_usd": 1}).replace(b'"cost_usd": 1', b'"cost_usd": 1e400'),
            "out of range",
        ),
        beside_valid(
            "token count ²", with_changes(payload={"usage": {"input_tokens": "²"}}), "ASCII digits"
        ),
        beside_valid(
            "ts year 1 with an offset",
            with_changes("session.start", ts="0001-01-01T00:00:00+01:00"),
            "event.ts",
        ),
        beside_valid(
            "ts year 9999 with an offset",
            with_changes("session.start", ts="9999-12-31T23:59:59-01:00"),
            "event.ts",
        ),
        beside_valid(
            "ts 2 days ahead", with_changes("session.start", ts=_ts(timedelta(days=2))), "ahead"
        ),
        beside_valid(
            "started_at year 1",
            with_changes("span.end", payload={"started_at": "0001-01-01T00:30:00+01:00"}),
            "started_at",
        ),
        Case("empty array", b"[]", 400, "empty"),
        Case("lone surrogate", b'["\\ud800"]', 400, "not valid JSON"),
        Case(
            "no content type",
            json.dumps([valid_event()]).encode(),
            415,
            "content-type is missing",
            {"content-type": ""},
        ),
        Case(
            "gzip bomb",
            gzip.compress(b"[" + b" " * (24 * 1024 * 1024) + b"]"),
            413,
            "byte limit",
            {"content-encoding": "gzip"},
        ),
        Case("huge array", b"[" + b"{}," * MAX_BATCH_EVENTS + b"{}]", 413, "event limit"),
        Case("huge body", b"[" + b" " * (17 * 1024 * 1024) + b"]", 413, "byte limit"),
    ]


def _nul_session() -> bytes:
    event = valid_event()
    event["correlation"]["session_id"] = "s\u0000"
    return json.dumps(event).encode()


def post_case(ingest_url: str, case: Case) -> list[str]:
    """POST one case and check its answer; returns the ids accepted (to be found stored)."""
    headers = {"content-type": "application/json", **case.headers}
    if not headers["content-type"]:
        del headers["content-type"]
    response = httpx.post(f"{ingest_url}/v1/events", content=case.body, headers=headers, timeout=60)
    assert response.status_code == case.status, (
        f"{case.name}: {response.status_code} {response.text[:300]}"
    )
    answer = response.json()
    if case.status != 200:
        text = answer.get("error") or json.dumps(answer.get("rejected"))
        assert case.words in text, f"{case.name}: {text[:300]}"
        return []
    assert answer["accepted"] == len(case.valid_ids), f"{case.name}: {answer}"
    [rejected] = answer["rejected"]
    assert rejected["index"] == 1 and case.words in rejected["reason"], f"{case.name}: {rejected}"
    return case.valid_ids
