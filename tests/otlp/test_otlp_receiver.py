"""The HTTP layer: encodings, gzip, size cap, OTLP answers and intake back-pressure."""

from __future__ import annotations

import gzip
import json

import httpx
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from otlp_intake import MAX_BODY_BYTES, ListIntake
from otlp_messages import (
    fixture_text,
    metrics_request,
    new_span_id,
    new_trace_id,
    otlp_json,
    span,
    trace_request,
)

from agentmon.intake import IntakeUnavailable

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def tool_spans(count: int = 1) -> list:
    trace, root = new_trace_id(), new_span_id()
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "Read"}
    return [
        span("execute_tool Read", trace, new_span_id(), attrs, parent=root) for _ in range(count)
    ]


async def test_protobuf_traces_are_stored_and_answered_in_protobuf(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    body = trace_request(tool_spans(3)).SerializeToString()
    response = await receiver.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    assert [e.type for e in intake.events].count("span.end") == 3


async def test_json_fixtures_of_the_spec_are_accepted(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    logs = await receiver.post(
        "/v1/logs", content=fixture_text("claude_api_request.logs.json"), headers=JSON
    )
    traces = await receiver.post(
        "/v1/traces", content=fixture_text("openclaw_execute_tool.traces.json"), headers=JSON
    )
    assert (logs.status_code, traces.status_code) == (200, 200)
    assert logs.headers["content-type"] == "application/json"
    assert logs.json() == {} and traces.json() == {}
    tool_end = next(
        e for e in intake.events if e.type == "span.end" and e.payload["kind"] == "tool"
    )
    assert tool_end.correlation.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tool_end.correlation.span_id == "00f067aa0ba902b7"
    assert tool_end.payload["tool_call_id"] == "call_01HZX8Q2"
    assert any(e.type == "metric.snapshot" and e.payload.get("cost_usd") for e in intake.events)


async def test_json_ignores_unknown_fields_and_takes_hex_ids(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    document = json.loads(otlp_json(trace_request(tool_spans())))
    document["someFutureField"] = {"x": 1}
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["futureSpanField"] = 7
    response = await receiver.post("/v1/traces", json=document)
    assert response.status_code == 200
    span_ids = {e.correlation.span_id for e in intake.events}
    assert document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] in span_ids


async def test_gzip_bodies_are_decompressed(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    body = gzip.compress(trace_request(tool_spans(2)).SerializeToString())
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = await receiver.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == 200
    assert [e.type for e in intake.events].count("span.end") == 2


async def test_unmappable_items_are_reported_as_partial_success(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    spans = [*tool_spans(2), span("broken", b"\x01" * 16, b"\x00" * 8)]
    body = trace_request(spans).SerializeToString()
    response = await receiver.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1
    assert "span_id must be 8 non-zero bytes" in partial.error_message
    assert [e.type for e in intake.events].count("span.end") == 2

    metrics = metrics_request([Metric(name="empty")], "svc")
    as_json = await receiver.post("/v1/metrics", content=otlp_json(metrics), headers=JSON)
    assert as_json.json() == {
        "partialSuccess": {"rejectedDataPoints": "1", "errorMessage": "metric 'empty' has no data"}
    }


async def test_logs_and_metrics_answer_with_their_own_response_types(
    receiver: httpx.AsyncClient,
) -> None:
    logs = await receiver.post("/v1/logs", content=b"", headers=PROTOBUF)
    metrics = await receiver.post("/v1/metrics", content=b"", headers=PROTOBUF)
    assert (logs.status_code, metrics.status_code) == (200, 200)
    assert ExportLogsServiceResponse.FromString(logs.content) == ExportLogsServiceResponse()
    assert ExportMetricsServiceResponse.FromString(metrics.content) == (
        ExportMetricsServiceResponse()
    )


async def test_malformed_protobuf_is_a_400_with_a_status(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    response = await receiver.post("/v1/traces", content=b"\x0a\xff\xff\xff\x0f", headers=PROTOBUF)
    assert response.status_code == 400
    status = RpcStatus.FromString(response.content)
    assert status.code == 3
    assert "not a valid protobuf ExportTraceServiceRequest" in status.message
    assert intake.events == []


async def test_malformed_json_is_a_400_naming_the_problem(receiver: httpx.AsyncClient) -> None:
    cases = {
        b"{not json": "not valid JSON",
        b"[1, 2]": "must be a JSON object",
        b'{"resourceSpans": 5}': "not a valid JSON ExportTraceServiceRequest",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}': "not a hex",
        b"\xff\xfe": "not valid JSON",
        b"[" * 20_000 + b"]" * 20_000: "not valid JSON",
        b'{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": '
        + b'{"kvlistValue": {"values": [{"key": "k", "value": ' * 600
        + b"{}"
        + b"}]}}" * 600
        + b"}]}}]}": "nested too deeply",
    }
    for body, problem in cases.items():
        response = await receiver.post("/v1/traces", content=body, headers=JSON)
        assert response.status_code == 400, body
        assert response.json()["code"] == 3
        assert problem in response.json()["message"], (body, response.json())


async def test_bad_gzip_is_a_400(receiver: httpx.AsyncClient) -> None:
    whole = gzip.compress(trace_request(tool_spans()).SerializeToString())
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}
    for body in (b"not gzip at all", whole[: len(whole) // 2]):
        response = await receiver.post("/v1/traces", content=body, headers=headers)
        assert response.status_code == 400
        assert "not valid gzip" in RpcStatus.FromString(response.content).message


async def test_bodies_over_the_cap_are_refused_with_413(receiver: httpx.AsyncClient) -> None:
    too_big = b"\x00" * (MAX_BODY_BYTES + 1)
    plain = await receiver.post("/v1/logs", content=too_big, headers=PROTOBUF)
    bomb = await receiver.post(
        "/v1/logs", content=gzip.compress(too_big), headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert (plain.status_code, bomb.status_code) == (413, 413)
    assert "byte limit" in bomb.json()["message"]


async def test_other_content_types_and_encodings_are_415(receiver: httpx.AsyncClient) -> None:
    text = await receiver.post("/v1/traces", content=b"hi", headers={"Content-Type": "text/plain"})
    brotli = await receiver.post(
        "/v1/traces", content=b"", headers={**PROTOBUF, "Content-Encoding": "br"}
    )
    assert (text.status_code, brotli.status_code) == (415, 415)
    assert "application/x-protobuf" in text.json()["message"]


async def test_an_unavailable_intake_is_a_503_with_retry_after(
    receiver: httpx.AsyncClient, intake: ListIntake
) -> None:
    intake.unavailable = IntakeUnavailable("bus down", retry_after=2.5)
    body = trace_request(tool_spans()).SerializeToString()
    response = await receiver.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert "bus down" in RpcStatus.FromString(response.content).message


async def test_only_post_is_routed(receiver: httpx.AsyncClient) -> None:
    assert (await receiver.get("/v1/traces")).status_code == 405
