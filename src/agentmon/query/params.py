"""Checks on query and path parameters, so no input reaches the store that it cannot take."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Literal

import msgspec
from fastapi import Request

from agentmon.events import normalize_ts
from agentmon.store.queries import SessionPosition, SessionSort

# the longest text a parameter may hold: ids, names and cursors are far shorter
MAX_PARAM_CHARS = 1024
# the most values a repeatable filter takes (one model's names are a handful)
MAX_FILTER_VALUES = 50
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BadParameter(ValueError):
    """A parameter the API cannot use; its message names the parameter (answered as 400)."""


def check_text_params(request: Request) -> None:
    """Refuse NUL characters (PostgreSQL cannot take them) and over-long values anywhere."""
    named = [("path", request.path_params.items()), ("query", request.query_params.multi_items())]
    for where, items in named:
        for name, value in items:
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                raise BadParameter(f"{where} parameter {name!r}: contains a NUL character")
            if len(value) > MAX_PARAM_CHARS:
                raise BadParameter(
                    f"{where} parameter {name!r}: longer than {MAX_PARAM_CHARS} characters"
                )


def timestamp(name: str, value: str | None) -> str | None:
    """An RFC 3339 timestamp in canonical form, or None."""
    if value is None:
        return None
    try:
        return normalize_ts(value)
    except (ValueError, OverflowError):
        raise BadParameter(
            f"query parameter {name!r}: {value!r} is not an RFC 3339 timestamp with a time zone "
            "between years 1 and 9999"
        ) from None


SortDirection = Literal["asc", "desc"]


def filter_text(name: str, value: str | None) -> str | None:
    """A filter value as given, or None; a blank one is refused (it would match nothing)."""
    return None if value is None else _not_blank(name, value)


def filter_texts(name: str, values: list[str] | None) -> tuple[str, ...]:
    """The values of a filter given once or more (any of them matches), each as
    `filter_text` takes it, repeats dropped; more than `MAX_FILTER_VALUES` are refused."""
    if not values:
        return ()
    if len(values) > MAX_FILTER_VALUES:
        raise BadParameter(
            f"query parameter {name!r}: given {len(values)} times, at most {MAX_FILTER_VALUES}"
        )
    return tuple(dict.fromkeys(_not_blank(name, value) for value in values))


def _not_blank(name: str, value: str) -> str:
    if not value.strip():
        raise BadParameter(f"query parameter {name!r}: is blank; leave it out to not filter")
    return value


def encode_cursor(*parts: int | float | str) -> str:
    raw = msgspec.json.encode(list(parts))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_parts(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = msgspec.json.decode(raw)
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        parts = None
    if not isinstance(parts, list) or len(parts) != 2:
        raise _bad_cursor(cursor)
    return parts


def _bad_cursor(cursor: str) -> BadParameter:
    return BadParameter(f"query parameter 'cursor': {cursor!r} is not one this API issued")


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and "\x00" not in value and len(value) <= MAX_PARAM_CHARS


def session_cursor(cursor: str | None) -> tuple[int, str] | None:
    """The (first_ts, session_id) position a sessions cursor of the default order holds."""
    position = sorted_session_cursor(cursor, "started")
    return None if position is None else (int(position[0]), position[1])


def sorted_session_cursor(cursor: str | None, sort: SessionSort) -> SessionPosition | None:
    """The (sort value, session_id) position a sessions cursor holds: the value is an int,
    or for the cost sort a finite float."""
    if cursor is None:
        return None
    value, session_id = _cursor_parts(cursor)
    whole = type(value) is int and INT64_MIN <= value <= INT64_MAX
    cost = sort == "cost" and type(value) is float and math.isfinite(value)
    if not (whole or cost) or not _is_id(session_id):
        raise _bad_cursor(cursor)
    return value, session_id


def event_cursor(cursor: str | None) -> tuple[str, str] | None:
    """The (ts, event_id) position an events cursor holds."""
    if cursor is None:
        return None
    ts, event_id = _cursor_parts(cursor)
    if not isinstance(ts, str) or not _is_id(event_id):
        raise _bad_cursor(cursor)
    try:
        canonical = normalize_ts(ts)
    except (ValueError, OverflowError):
        raise _bad_cursor(cursor) from None
    if canonical != ts:
        raise _bad_cursor(cursor)
    return ts, event_id
