"""OTLP/HTTP request bodies → opentelemetry-proto messages.

Both encodings of the spec: binary protobuf, and the JSON protobuf mapping, parsed with
`google.protobuf.json_format` (unknown fields ignored). The one JSON quirk protobuf's own
parser does not know is that OTLP writes trace and span ids as hex, not base64; those keys
are rewritten before parsing.
"""

from __future__ import annotations

import base64
import json
from enum import Enum
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message


class Encoding(Enum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"

    @property
    def content_type(self) -> str:
        return self.value


class BadRequest(Exception):
    """The body cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


HEX_ID_KEYS = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)

M = TypeVar("M", bound=Message)


def encoding_of(content_type: str | None) -> Encoding:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    for encoding in Encoding:
        if media_type == encoding.value:
            return encoding
    raise BadRequest(
        415,
        f"unsupported Content-Type {content_type or '(none)'!r}: "
        "use application/x-protobuf or application/json",
    )


def parse(data: bytes, encoding: Encoding, message: M) -> M:
    """Fill `message` from `data`; BadRequest(400) names the problem."""
    if encoding is Encoding.PROTOBUF:
        try:
            message.ParseFromString(data)
        except DecodeError as exc:
            raise BadRequest(400, f"body is not a valid protobuf {_name(message)}: {exc}") from None
        return message
    return _parse_json(data, message)


def _parse_json(data: bytes, message: M) -> M:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(400, "body is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise BadRequest(400, f"body must be a JSON object ({_name(message)})")
    try:
        json_format.ParseDict(hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadRequest(400, f"body is not a valid JSON {_name(message)}: {exc}") from None
    except RecursionError:
        raise BadRequest(
            400, f"body is not a valid JSON {_name(message)}: nested too deeply"
        ) from None
    return message


def hex_ids_to_base64(node: Any) -> Any:
    """Rewrite OTLP/JSON's hex trace and span ids as the base64 protobuf's JSON parser wants."""
    if isinstance(node, list):
        return [hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _hex_to_base64(key, value) if key in HEX_ID_KEYS else hex_ids_to_base64(value)
        for key, value in node.items()
    }


def _hex_to_base64(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(400, f"{key} {value[:64]!r} is not a hex string") from None
    return base64.b64encode(raw).decode("ascii")


def _name(message: Message) -> str:
    name: str = message.DESCRIPTOR.name
    return name
