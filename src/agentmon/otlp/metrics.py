"""OTLP metric data points → `metric.snapshot` events that carry the point, not usage.

Every data point is kept as one snapshot with `payload.metric` = {name, unit, type, value or
distribution, attributes}. None of them fills `payload.usage` or `payload.cost_usd`: the
token and cost counters of the tools (`claude_code.token.usage`, `claude_code.cost.usage`,
`gemini_cli.token.usage`, `gen_ai.client.token.usage`, `openclaw.tokens`, …) repeat what
their API-call events and spans already report, and are cumulative, so counting them too
would count every token twice. Usage is counted from the events; see docs/otlp.md.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    SummaryDataPoint,
)

from agentmon.events import Envelope, EventType, InvalidEvent
from agentmon.otlp.attributes import Attributes, as_text, attributes, nanos_to_ts
from agentmon.otlp.build import Mapped, Place, make_event
from agentmon.otlp.genai import session_of
from agentmon.otlp.origin import Origin, resolve_origin

DataPoint = NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint | SummaryDataPoint

TEMPORALITIES: dict[int, str] = {
    AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA: "delta",
    AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative",
}


def map_metrics(request: ExportMetricsServiceRequest) -> Mapped:
    mapped = Mapped()
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        origin = resolve_origin(resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                _map_metric(metric, origin, session_of(resource), mapped)
    return mapped


def _map_metric(metric: Metric, origin: Origin, session: str | None, mapped: Mapped) -> None:
    data_type = metric.WhichOneof("data")
    if data_type is None:
        mapped.reject(f"metric {metric.name!r} has no data")
        return
    data = getattr(metric, data_type)
    shape = _shape(data, data_type)
    for point in data.data_points:
        try:
            mapped.events.append(point_event(metric, point, shape, origin, session))
        except InvalidEvent as exc:
            mapped.reject(f"metric {metric.name!r}: {exc}")


def _shape(data: Any, data_type: str) -> dict[str, Any]:
    """The metric-wide facts: type, temporality and monotonicity."""
    shape: dict[str, Any] = {"type": data_type}
    temporality = TEMPORALITIES.get(int(getattr(data, "aggregation_temporality", 0)))
    if temporality:
        shape["temporality"] = temporality
    if data_type == "sum":
        shape["monotonic"] = data.is_monotonic
    return shape


def point_event(
    metric: Metric,
    point: DataPoint,
    shape: dict[str, Any],
    origin: Origin,
    resource_session: str | None,
) -> Envelope:
    point_attrs = attributes(point.attributes)
    digest = hashlib.sha1(point.SerializeToString(deterministic=True)).hexdigest()
    place = Place(
        origin=origin,
        identity=f"metric:{origin.framework}:{origin.host}:{metric.name}:{digest}",
        session_id=session_of(point_attrs) or resource_session,
    )
    description = {
        "name": metric.name,
        "unit": metric.unit or None,
        **shape,
        **point_values(point),
        "attributes": point_attrs,
    }
    if point.start_time_unix_nano:
        description["start_ts"] = nanos_to_ts(point.start_time_unix_nano)
    payload = {
        "metric": {key: value for key, value in description.items() if value is not None},
        "model": as_text(point_attrs.get("model") or point_attrs.get("gen_ai.request.model")),
    }
    return make_event(
        EventType.METRIC_SNAPSHOT,
        place,
        nanos_to_ts(point.time_unix_nano or time.time_ns()),
        payload,
        attributes=point_attrs,
    )


def point_values(point: DataPoint) -> Attributes:
    if isinstance(point, NumberDataPoint):
        which = point.WhichOneof("value")
        return {"value": getattr(point, which) if which else None}
    values: Attributes = {"count": point.count, "sum": point.sum}
    if isinstance(point, SummaryDataPoint):
        values["quantiles"] = [
            {"quantile": q.quantile, "value": q.value} for q in point.quantile_values
        ]
        return values
    if point.HasField("min"):
        values["min"] = point.min
    if point.HasField("max"):
        values["max"] = point.max
    if isinstance(point, HistogramDataPoint):
        values["bucket_counts"] = list(point.bucket_counts)
        values["explicit_bounds"] = list(point.explicit_bounds)
    else:
        values["scale"] = point.scale
        values["zero_count"] = point.zero_count
    return values
