"""schemathesis fuzzes the ingest gateway of a real embedded server from its own OpenAPI
document: no input may produce a 5xx, and every answer must be one the document declares,
in the shape it declares. Bounded examples, so it stays a few seconds."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import ServerProcess


@pytest.fixture
def ingest_schema(embedded_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(f"{embedded_server.ingest_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("ingest_schema")


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_ingest_gateway_answers_every_input_with_a_declared_non_5xx(case: Any) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
