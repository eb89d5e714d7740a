"""Which subjects a stream takes, and when the backlog warns before JetStream discards."""

from __future__ import annotations

import pytest

from agentmon.bus.nats import Lag, subject_covers


@pytest.mark.parametrize(
    ("pattern", "subject", "covered"),
    [
        ("agentmon.events.v1", "agentmon.events.v1", True),
        ("agentmon.events.*", "agentmon.events.v1", True),
        ("agentmon.>", "agentmon.events.v1", True),
        ("agentmon.events.v1", "agentmon.events.v2", False),
        ("agentmon.*", "agentmon.events.v1", False),
        ("agentmon.events.v1.>", "agentmon.events.v1", False),
    ],
)
def test_subject_patterns(pattern: str, subject: str, covered: bool) -> None:
    assert subject_covers(pattern, subject) is covered


def test_a_backlog_near_a_limit_warns_naming_the_setting() -> None:
    day = 86400.0
    assert Lag(pending=10, oldest_age_s=60, stream_bytes=1000).warnings(day, 10**9) == []
    [old] = Lag(pending=10, oldest_age_s=0.9 * day, stream_bytes=1000).warnings(day, 10**9)
    assert "AGENTMON_NATS_MAX_AGE" in old
    [full] = Lag(pending=10, oldest_age_s=5, stream_bytes=900).warnings(day, 1000)
    assert "AGENTMON_NATS_MAX_BYTES" in full
    # a full stream of processed messages is normal: JetStream drops what is done
    assert Lag(pending=0, oldest_age_s=0, stream_bytes=1000).warnings(day, 1000) == []
