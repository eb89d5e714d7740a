"""Envelope validation names what is wrong; timestamps become canonical UTC."""

from __future__ import annotations

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
