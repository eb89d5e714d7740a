"""Builders for real opentelemetry-proto messages used by the OTLP tests."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

BASE_NS = 1_787_236_200_000_000_000
"""2026-08-20T14:30:00Z, the time of the integration fixtures."""

FIXTURES = Path(__file__).parent / "fixtures"


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(any_value(item) for item in value)
        return result
    return AnyValue(string_value=str(value))


def key_values(attrs: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attrs.items()]


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)


def span(
    name: str,
    trace_id: bytes,
    span_id: bytes,
    attrs: Mapping[str, Any] | None = None,
    *,
    parent: bytes = b"",
    start_ms: int = 0,
    end_ms: int = 100,
    error: str | None = None,
    kind: Span.SpanKind.ValueType = Span.SPAN_KIND_INTERNAL,
) -> Span:
    status = Status(code=Status.STATUS_CODE_ERROR, message=error) if error else Status()
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=BASE_NS + start_ms * 1_000_000,
        end_time_unix_nano=BASE_NS + end_ms * 1_000_000,
        attributes=key_values(attrs or {}),
        status=status,
    )


def trace_request(spans: Iterable[Span], service: str = "agent-app") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        key_values({"service.name": service, "host.name": "devbox"})
    )
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def log_record(
    attrs: Mapping[str, Any],
    *,
    event_name: str = "",
    body: str | None = None,
    at_ms: int = 0,
    severity: int = 9,
) -> LogRecord:
    record = LogRecord(
        time_unix_nano=BASE_NS + at_ms * 1_000_000,
        severity_number=severity,  # type: ignore[arg-type]
        event_name=event_name,
        attributes=key_values(attrs),
    )
    if body is not None:
        record.body.string_value = body
    return record


def logs_request(records: Iterable[LogRecord], service: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        key_values({"service.name": service, "host.name": "devbox"})
    )
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def metrics_request(metrics: Iterable[Metric], service: str) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.extend(key_values({"service.name": service}))
    resource_metrics.scope_metrics.add().metrics.extend(metrics)
    return request


def fixture_text(name: str) -> str:
    """A fixture copied from integrations.md section 8 (tests/otlp/fixtures)."""
    return (FIXTURES / name).read_text()


def flattened_record(event_name: str) -> dict[str, Any]:
    """One flattened OTLP log record of integrations.md section 8, keyed by its event.name."""
    records: dict[str, dict[str, Any]] = json.loads(fixture_text("flattened_log_records.json"))
    return dict(records[event_name])


def otlp_json(message: Message) -> str:
    """The OTLP/JSON encoding of a message: protobuf JSON with trace and span ids as hex."""
    document = json.loads(json_format.MessageToJson(message))
    return json.dumps(_ids_as_hex(document))


def _ids_as_hex(node: Any) -> Any:
    if isinstance(node, list):
        return [_ids_as_hex(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: base64.b64decode(value).hex() if key in ID_KEYS else _ids_as_hex(value)
        for key, value in node.items()
    }


ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})
