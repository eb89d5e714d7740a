"""The ingest gateway's OpenAPI document (`GET /openapi.json` on :8080), so clients and
fuzzers (schemathesis) know what `POST /v1/events` takes and answers."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from agentmon.events import (
    EVENT_TYPES,
    MAX_BATCH_EVENTS,
    MAX_ID_CHARS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    Envelope,
)

_REF = "#/components/schemas/{name}"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(name="Error")}}},
    }


def _answer(description: str, *alternatives: str) -> dict[str, Any]:
    refs = [{"$ref": _REF.format(name=name)} for name in ("IngestAnswer", *alternatives)]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_SHARED_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    },
    "Rejection": {
        "type": "object",
        "properties": {"index": {"type": "integer"}, "reason": {"type": "string"}},
        "required": ["index", "reason"],
    },
    "IngestAnswer": {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "rejected": {"type": "array", "items": {"$ref": _REF.format(name="Rejection")}},
        },
        "required": ["accepted", "rejected"],
    },
}


def _describe_values(components: dict[str, Any]) -> None:
    """What the validator also checks, as far as JSON Schema can say it (the model's types
    alone do not say which event types and timestamps are valid)."""
    header = components["EventHeader"]["properties"]
    header["type"] = {"type": "string", "enum": sorted(EVENT_TYPES)}
    header["ts"] = {"type": "string", "format": "date-time"}
    header["id"] = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS}
    schema = components["Schema"]["properties"]
    schema["name"] = {"type": "string", "const": SCHEMA_NAME}
    schema["version"] = {"type": "integer", "const": SCHEMA_VERSION}


@functools.cache
def ingest_openapi() -> dict[str, Any]:
    (envelope,), components = msgspec.json.schema_components([Envelope], ref_template=_REF)
    _describe_values(components)
    batch = {"type": "array", "items": envelope, "minItems": 1, "maxItems": MAX_BATCH_EVENTS}
    post_events = {
        "summary": "Ingest events: a JSON array of envelopes, or one envelope",
        "description": (
            "Each item is validated on its own; refused items are answered by index with a "
            "reason and the rest are accepted (docs/events.md gives the rules). "
            "`Content-Encoding: gzip` is accepted."
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [batch, envelope]}}},
        },
        "responses": {
            "200": _answer("at least one event was accepted (and is durable)"),
            "400": _answer(
                "nothing was accepted: every item refused (with reasons), or the body is not "
                "a JSON array or object, or the array is empty (an error)",
                "Error",
            ),
            "401": _error("a bearer key is configured and was not sent"),
            "413": _error("over the body, event or batch limits"),
            "415": _error("the content type is not JSON, or the encoding not gzip"),
            "503": _error("the bus cannot take events now; retry after Retry-After seconds"),
        },
    }
    healthz = {
        "summary": "Health, including the bus",
        "responses": {
            "200": {"description": "healthy", "content": {"application/json": {}}},
            "503": {"description": "the bus is unavailable", "content": {"application/json": {}}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "agentmon ingest gateway", "version": "1"},
        "paths": {
            "/v1/events": {"post": post_events},
            "/healthz": {"get": healthz},
        },
        "components": {
            "schemas": {**components, **_SHARED_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
    }
