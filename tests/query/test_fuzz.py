"""Schemathesis against the query app's own OpenAPI document, on both stores: whatever it
generates (valid and invalid parameters), the app never answers 5xx, and what it answers
matches the documented status codes and schemas."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.query.conftest import ServedQuery

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def fuzz(served: ServedQuery, mode: schemathesis.GenerationMode) -> list[str]:
    document = served.app.openapi()
    schema = schemathesis.openapi.from_dict(document)
    tried: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        operation_doc = document["paths"][operation.path][operation.method.lower()]
        has_parameters = bool(operation_doc.get("parameters"))
        if mode == schemathesis.GenerationMode.NEGATIVE and not has_parameters:
            continue  # nothing to make invalid
        tried.append(operation.label)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Any) -> None:
            response = case.call(base_url=served.url)
            case.validate_response(response, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            # every parameter of the operation is a free string: no value is invalid
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
            tried.remove(operation.label)
    return tried


def test_valid_parameters_never_get_a_server_error(served_query: ServedQuery) -> None:
    tried = fuzz(served_query, schemathesis.GenerationMode.POSITIVE)
    assert "GET /v1/sessions/{session_id}" in tried and "GET /v1/events" in tried


def test_invalid_parameters_never_get_a_server_error(served_query: ServedQuery) -> None:
    tried = fuzz(served_query, schemathesis.GenerationMode.NEGATIVE)
    assert {"GET /v1/events", "GET /v1/sessions", "GET /v1/sessions/export"} <= set(tried)
