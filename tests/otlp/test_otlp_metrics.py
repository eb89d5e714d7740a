"""The pure metric mapping: every data point kept as a snapshot that never counts usage."""

from __future__ import annotations

from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Metric,
)
from otlp_messages import BASE_NS, key_values, metrics_request

from agentmon.otlp.metrics import map_metrics


def token_counter() -> Metric:
    metric = Metric(name="claude_code.token.usage", unit="tokens")
    metric.sum.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    metric.sum.is_monotonic = True
    for kind, value in (("input", 312.0), ("output", 540.0)):
        point = metric.sum.data_points.add(
            time_unix_nano=BASE_NS, start_time_unix_nano=BASE_NS - 60_000_000_000, as_double=value
        )
        point.attributes.extend(
            key_values({"session.id": "s-1", "type": kind, "model": "claude-sonnet-4-6"})
        )
    return metric


def latency_histogram() -> Metric:
    metric = Metric(name="gen_ai.client.operation.duration", unit="s")
    metric.histogram.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    metric.histogram.data_points.add(
        time_unix_nano=BASE_NS,
        count=3,
        sum=4.5,
        min=0.5,
        max=2.5,
        bucket_counts=[1, 2],
        explicit_bounds=[1.0],
    )
    return metric


def test_counter_points_are_snapshots_in_their_session_without_usage() -> None:
    mapped = map_metrics(metrics_request([token_counter()], "claude-code"))
    assert mapped.rejected == 0
    assert [e.type for e in mapped.events] == ["metric.snapshot", "metric.snapshot"]
    first = mapped.events[0]
    assert first.correlation.session_id == "s-1"
    assert first.event.source.framework == "claude-code"
    assert "usage" not in first.payload and "cost_usd" not in first.payload
    assert first.payload["model"] == "claude-sonnet-4-6"
    assert first.payload["metric"] == {
        "name": "claude_code.token.usage",
        "unit": "tokens",
        "type": "sum",
        "temporality": "cumulative",
        "monotonic": True,
        "value": 312.0,
        "attributes": {"session.id": "s-1", "type": "input", "model": "claude-sonnet-4-6"},
        "start_ts": "2026-08-20T14:29:00.000000Z",
    }
    assert first.ts == "2026-08-20T14:30:00.000000Z"
    assert len({e.id for e in mapped.events}) == 2


def test_histograms_keep_their_distribution() -> None:
    (event,) = map_metrics(metrics_request([latency_histogram()], "gemini-cli")).events
    metric = event.payload["metric"]
    assert (metric["type"], metric["temporality"]) == ("histogram", "delta")
    assert (metric["count"], metric["sum"], metric["min"], metric["max"]) == (3, 4.5, 0.5, 2.5)
    assert (metric["bucket_counts"], metric["explicit_bounds"]) == ([1, 2], [1.0])
    assert event.correlation.session_id is None


def test_a_metric_without_data_is_rejected_and_the_others_kept() -> None:
    mapped = map_metrics(metrics_request([Metric(name="empty"), token_counter()], "x"))
    assert mapped.rejected == 1
    assert mapped.error_message == "metric 'empty' has no data"
    assert len(mapped.events) == 2


def test_the_same_points_give_the_same_ids() -> None:
    request = metrics_request([token_counter(), latency_histogram()], "codex_exec")
    assert [e.id for e in map_metrics(request).events] == [
        e.id for e in map_metrics(request).events
    ]
