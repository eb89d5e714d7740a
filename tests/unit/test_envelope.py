"""Envelope validation names what is wrong; timestamps become canonical UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from agentmon.events import (
    MAX_EVENT_BYTES,
    InvalidEvent,
    new_event,
    parse_event,
    to_dict,
    validate_event,
)


def base() -> dict:
    return to_dict(new_event("run.start", framework="t", session_id="s", run_id="r"))


def test_timestamps_are_normalised_to_utc() -> None:
    event = base()
    event["event"]["ts"] = "2026-03-13T14:00:00+02:00"
    assert validate_event(event).event.ts == "2026-03-13T12:00:00.000000Z"


@pytest.mark.parametrize(
    "ts",
    [
        "2026-02-30T12:00:00.000000Z",
        "2026-13-01T12:00:00.000000Z",
        "2026-03-13T24:00:00.000000Z",
        "2026-03-13T12:00:60.000000Z",
        "2026-03-13T12:00:00.00000xZ",
    ],
)
def test_canonical_looking_timestamps_naming_no_moment_are_refused(ts: str) -> None:
    """Canonical stamps skip the parse (the hot path): the shape alone must not pass them."""
    event = base()
    event["event"]["ts"] = ts
    with pytest.raises(InvalidEvent, match="not an RFC 3339 timestamp"):
        validate_event(event)


def test_canonical_timestamps_pass_unchanged() -> None:
    event = base()
    event["event"]["ts"] = "2026-03-13T12:00:00.123456Z"
    assert validate_event(event).event.ts == "2026-03-13T12:00:00.123456Z"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e["event"].update(ts="2026-03-13T12:00:00"), "no time zone"),
        (lambda e: e["schema"].update(name="other"), "schema.name"),
        (lambda e: e["event"].update(id=""), "event.id must not be empty"),
        (lambda e: e["event"]["source"].update(framework=" "), "framework must not be empty"),
        (lambda e: e["correlation"].update(session_id="x" * 300), "correlation.session_id"),
        (lambda e: e.update(payload=[1]), "payload"),
        (lambda e: e["event"].pop("source"), "source"),
    ],
)
def test_each_problem_is_named(change: object, words: str) -> None:
    event = base()
    change(event)  # type: ignore[operator]
    with pytest.raises(InvalidEvent, match=words):
        validate_event(event)


def test_oversize_events_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="byte limit"):
        parse_event(b" " * (MAX_EVENT_BYTES + 1))


def metric(**payload: object) -> dict:
    event = to_dict(new_event("metric.snapshot", framework="t", session_id="s"))
    event["payload"] = payload
    return event


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"output": "a\x00b"}, "payload.output contains a NUL"),
        ({"a\x00": 1}, "has a key that contains a NUL"),
        ({"list": [1, {"x": "\x00"}]}, "payload.list[1].x contains a NUL"),
        ({"x": "\ud800"}, "payload.x contains a lone surrogate"),
        ({"n": 2**63}, "outside the 64-bit range"),
        ({"n": -(2**63) - 1}, "outside the 64-bit range"),
        ({"f": float("nan")}, "payload.f is not a finite number"),
        ({"f": float("inf")}, "payload.f is not a finite number"),
        ({"x": nested(64)}, "deeper than 64 levels"),
        ({"x": nested(2000)}, "deeper than 64 levels"),
        ({"cost_usd": "NaN"}, "payload.cost_usd must be a number"),
        ({"cost_usd": "1e400"}, "payload.cost_usd '1e400' is not a finite number"),
        ({"cost_usd": -1}, "payload.cost_usd -1 is not a finite number within 0"),
        ({"cost_usd": True}, "payload.cost_usd must be a number"),
        ({"usage": {"input_tokens": "²"}}, "payload.usage.input_tokens '²' is not a count"),
        ({"usage": {"output_tokens": 10**13}}, "within 0..1e+12"),
        ({"usage": {"total": [1]}}, "payload.usage.total must be a number"),
        ({"usage": 5}, "payload.usage must be an object"),
        ({"duration_ms": "Infinity"}, "payload.duration_ms must be a number"),
        ({"duration_ms": 1e300}, "payload.duration_ms 1e+300"),
        ({"started_at": "0001-01-01T00:00:00+01:00"}, "payload.started_at"),
        ({"started_at": 12}, "payload.started_at must be an RFC 3339 timestamp string"),
    ],
)
def test_values_a_store_cannot_hold_are_refused(payload: dict, words: str) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(words)):
        validate_event(metric(**payload))


def test_values_a_store_can_hold_pass() -> None:
    payload = {
        "output": "naïve ✓ 日本",
        "n": 2**63 - 1,
        "x": nested(63),
        "cost_usd": "0.25",
        "usage": {"input_tokens": "120", "output_tokens": 7.0, "total_tokens": None},
        "duration_ms": "-3",
        "started_at": "2026-03-13T11:59:00+01:00",
    }
    assert validate_event(metric(**payload)).payload == payload


@pytest.mark.parametrize(
    ("ts", "words"),
    [
        ("0001-01-01T00:00:00+01:00", "outside the years 1-9999"),
        ("9999-12-31T23:59:59-01:00", "outside the years 1-9999"),
        ("1999-12-31T23:59:59Z", "before 2000-01-01"),
        ((datetime.now(UTC) + timedelta(days=2)).isoformat(), "more than 1 day ahead"),
    ],
)
def test_timestamps_outside_the_window_are_refused(ts: str, words: str) -> None:
    event = base()
    event["event"]["ts"] = ts
    with pytest.raises(InvalidEvent, match=words):
        validate_event(event)


def test_header_strings_are_checked_for_nul() -> None:
    with pytest.raises(InvalidEvent, match=re.escape("correlation.session_id contains a NUL")):
        new_event("run.start", framework="t", session_id="s\x00", run_id="r")
    with pytest.raises(InvalidEvent, match=re.escape("event.source.host contains a NUL")):
        new_event("run.start", framework="t", host="h\x00")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"schema": {"name": "\xff"}}', "not valid UTF-8"),
        (b'{"payload": {"a": ' + b"[" * 3000 + b"]" * 3000 + b"}}", "deeper than 64 levels"),
    ],
    ids=["invalid UTF-8", "3,000 deep"],
)
def test_undecodable_events_are_named_not_raised(raw: bytes, words: str) -> None:
    with pytest.raises(InvalidEvent, match=words):
        parse_event(raw)
