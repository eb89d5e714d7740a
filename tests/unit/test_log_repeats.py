"""A storm of identical log lines costs a few lines, then one line with the count."""

from __future__ import annotations

import logging
import time

from agentmon.logs import RepeatFilter


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_beyond_the_burst_are_counted_and_reported_once_the_window_ends() -> None:
    repeats = RepeatFilter(burst=3, window_s=0.2)
    passed = [
        repeats.filter(_record("accept failed: %s", "Too many open files")) for _ in range(1000)
    ]
    assert passed.count(True) == 3
    assert repeats.filter(_record("something else")) is True
    time.sleep(0.25)
    later = _record("accept failed: %s", "Too many open files")
    assert repeats.filter(later) is True
    assert later.getMessage() == "accept failed: Too many open files (997 similar lines suppressed)"


def test_the_number_of_remembered_templates_is_bounded() -> None:
    repeats = RepeatFilter(burst=1, window_s=60, max_keys=10)
    for index in range(100):
        assert repeats.filter(_record(f"unique line {index}"))
    assert len(repeats._bursts) <= 10
