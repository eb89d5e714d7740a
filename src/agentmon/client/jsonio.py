"""JSON for producers without importing the ``json`` package.

Importing ``json`` pulls in ``re`` and ``enum`` and takes longer than everything else a hook
handler does; the C scanner and encoder of ``_json`` (the accelerator ``json`` itself uses)
give the same results. Interpreters without them get the ``json`` package.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_WHITESPACE = " \t\n\r"


def _json_codec() -> tuple[Callable[[str], Any], Callable[[Any], str]]:
    """(loads, dumps) built on ``_json``, or on the ``json`` package where it is missing."""
    try:
        import _json

        scanner = _json.make_scanner(_ScannerContext())  # type: ignore[arg-type]  # stub is off
        encoder = _json.make_encoder(
            None, _unserializable, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
    except (ImportError, AttributeError, TypeError):
        import json

        return json.loads, lambda value: json.dumps(value, separators=(",", ":"), default=str)

    def loads(text: str) -> Any:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = scanner(text, start)
        except Exception:  # not JSON: the json package says what is wrong (error path only)
            return _json_package_loads(text)
        if end != len(text.rstrip(_WHITESPACE)):
            return _json_package_loads(text)
        return value

    def dumps(value: Any) -> str:
        return "".join(encoder(value, 0))

    return loads, dumps


def _json_package_loads(text: str) -> Any:
    import json

    return json.loads(text)


class _ScannerContext:
    """The settings ``_json.make_scanner`` reads (those of ``json.JSONDecoder()``)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


def _unserializable(value: object) -> str:
    return str(value)


json_loads, json_dumps = _json_codec()
