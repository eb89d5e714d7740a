"""The importers' line reader and time parser: every hostile line is skipped with its
reason (never fatal), and the fast time parser reads exactly what the hooks' one reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmon.integrations._history import parse_time
from agentmon.integrations._hookio import parse_ts
from agentmon.integrations.claude_history import read_records


def test_every_kind_of_bad_line_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    nested = b"[" * 50_000 + b"]" * 50_000 + b"\n"
    path.write_bytes(
        b'{"type": "user", "n": 1}\n'
        b"\n"  # blank: nothing, not a skip
        b"{not json\n"
        b"[1, 2]\n"
        b'{"text": "\xff\xfe"}\n'
        + nested
        + b'{"value": NaN, "n": 2}\n'  # the standard decoder's reading of NaN is kept
        b'{"n": 3, "big": 123456789012345678901234567890}\n'
        b'{"n": 4, "unfinished": tr'
    )
    reading = read_records(path)
    assert [record.get("n") for record in reading.records] == [1, 2, 3]
    assert reading.records[2]["big"] == 123456789012345678901234567890
    assert reading.skipped == {
        "not a JSON object": 2,
        "not UTF-8": 1,
        "nested too deeply": 1,
        "unfinished last line": 1,
    }


@pytest.mark.parametrize(
    "text",
    [
        "2026-08-20T14:30:00.000Z",
        "2026-08-20T14:30:00Z",
        "2026-08-20T14:30:00.123456+02:00",
        "2026-08-20t14:30:00.000z",
        "2026-08-20T14:30:00",  # no zone
        "2026-08-20",
        "",
        "yesterday",
        "2026-13-40T99:99:99.000Z",
    ],
)
def test_the_importers_time_parser_agrees_with_the_hooks(text: str) -> None:
    assert parse_time(text) == parse_ts(text)


def test_a_time_that_is_not_a_string_is_none() -> None:
    assert parse_time(1787236205300) is None and parse_time(None) is None
