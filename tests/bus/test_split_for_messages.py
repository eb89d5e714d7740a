"""How a gateway cuts a batch into JetStream messages: one message (one encode of the whole
list) when it fits, several under the size limit when it does not, and the same bytes either
way as joining each event's own encoding, so a batch retried through any gateway gets the
same message id and JetStream's duplicate window drops the copy."""

from __future__ import annotations

from agentmon.bus.nats import MAX_MESSAGE_BYTES, split_for_messages
from agentmon.events import Envelope, decode_many, encode, new_event


def joined(events: list[Envelope]) -> bytes:
    return b"[" + b",".join(encode(event) for event in events) + b"]"


def test_a_batch_that_fits_is_one_message_with_the_bytes_of_its_events_joined() -> None:
    events = [new_event("span.start", framework="test", payload={"n": i}) for i in range(100)]
    assert split_for_messages(events) == [joined(events)]


def test_a_batch_over_the_limit_is_cut_into_messages_under_it_in_order() -> None:
    output = "x" * 100_000
    events = [
        new_event("span.end", framework="test", payload={"output": output}) for _ in range(25)
    ]
    messages = split_for_messages(events)
    assert len(messages) > 1
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in messages)
    assert [e.event.id for m in messages for e in decode_many(m)] == [e.event.id for e in events]
    assert b"".join(messages[:1]) == joined(events[: len(decode_many(messages[0]))])
