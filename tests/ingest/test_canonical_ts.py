"""The canonical-timestamp shortcut of `normalize_ts` answers exactly as the full parse:
the same text for a canonical timestamp, the same error for one a character away from it
(every position, every kind of character), so no event's 4xx reason changes."""

from __future__ import annotations

import pytest

from agentmon.events import _normalized, normalize_ts

CANONICAL = [
    "2026-12-05T13:54:07.123456Z",
    "0001-01-01T00:00:00.000000Z",
    "9999-12-31T23:59:59.999999Z",
    "2024-02-29T12:00:00.500000Z",
]
REPLACEMENTS = "0129-:T.Zz+ \u0663\x00"


def near_misses() -> list[str]:
    base = CANONICAL[0]
    variants = {base[:i] + c + base[i + 1 :] for i in range(len(base)) for c in REPLACEMENTS}
    variants |= {base[:i] + base[i + 1 :] for i in range(len(base))}  # one character short
    variants |= {f" {base}", f"{base} ", base + "Z", base.lower(), base[:-1] + "+00:00"}
    variants |= {"2026-02-30T00:00:00.000000Z", "2025-02-29T00:00:00.000000Z"}
    variants |= {"2026-13-01T00:00:00.000000Z", "2026-12-05T24:00:00.000000Z"}
    variants |= {"0000-01-01T00:00:00.000000Z", "2026-12-05T13:54:60.000000Z"}
    return sorted(variants)


def answer(parse: object, value: str) -> tuple[str, str]:
    assert callable(parse)
    try:
        return ("ok", parse(value))
    except ValueError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("value", CANONICAL)
def test_a_canonical_timestamp_comes_back_unchanged(value: str) -> None:
    assert normalize_ts(value) == value == _normalized(value)


def test_every_near_miss_is_answered_as_the_full_parse_answers_it() -> None:
    cases = near_misses()
    assert len(cases) > 300
    outcomes = {answer(normalize_ts, value)[0] for value in cases}
    assert outcomes == {"ok", "error"}  # both kinds are exercised
    for value in cases:
        assert answer(normalize_ts, value) == answer(_normalized, value), value
