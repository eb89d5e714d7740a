"""Envelopes stay out of the garbage collector's walks.

A gateway or processor holds tens of thousands of envelopes at once (queued, in a group
commit); were each tracked, every collection would walk them all, and decoding a batch paid
that walk again and again (a third of decode + validate's CPU time, `bench_ingest --stages`).
An envelope cannot be part of a reference cycle (it holds text, numbers and the decoded
payload), so its structs are left untracked; the payload's dicts still are.
"""

from __future__ import annotations

import gc

from agentmon.events import Envelope, decode_many, encode_many, new_event
from agentmon.ingest.batch import parse_batch


def _body() -> bytes:
    events = [
        new_event("span.start", framework="t", session_id="s", span_id=f"p{n}", payload={"n": n})
        for n in range(3)
    ]
    return encode_many(events)


def _parts(envelope: Envelope) -> list[object]:
    event = envelope.event
    return [envelope, envelope.schema, event, event.source, envelope.correlation]


def test_envelopes_parsed_at_ingest_are_not_tracked() -> None:
    for envelope in parse_batch(_body()).events:
        assert not any(gc.is_tracked(part) for part in _parts(envelope))


def test_envelopes_decoded_by_a_processor_are_not_tracked() -> None:
    for envelope in decode_many(_body()):
        assert not any(gc.is_tracked(part) for part in _parts(envelope))


def test_envelopes_built_in_process_are_not_tracked() -> None:
    envelope = new_event("run.start", framework="t", session_id="s", run_id="r")
    assert not any(gc.is_tracked(part) for part in _parts(envelope))
