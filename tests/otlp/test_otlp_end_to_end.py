"""End to end: the real OpenTelemetry SDK exporters and httpx → a running `agentmon serve` →
the query API. Ids are fresh per test so the shared server's other data cannot interfere."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)
from otlp_messages import (
    fixture_text,
    flattened_record,
    log_record,
    logs_request,
    new_span_id,
    new_trace_id,
    otlp_json,
    span,
    trace_request,
)

from agentmon.integrations._hookio import derived_id

JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


class Api:
    """The query API of the running server."""

    def __init__(self, query_url: str) -> None:
        self.client = httpx.Client(base_url=query_url, timeout=10)

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def session(self, session_id: str) -> dict[str, Any]:
        return self.get(f"/v1/sessions/{quote(session_id, safe='')}")

    def run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/v1/runs/{quote(run_id, safe='')}")

    def events(self, session_id: str) -> list[dict[str, Any]]:
        return self.get("/v1/events", session_id=session_id, limit=1000)["events"]


@pytest.fixture(scope="module")
def server(embedded_server: Any) -> Any:
    return embedded_server


@pytest.fixture(scope="module")
def api(server: Any) -> Iterator[Api]:
    api = Api(server.query_url)
    yield api
    api.client.close()


def resource(service: str) -> Resource:
    return Resource.create({"service.name": service, "host.name": "e2e-host"})


def test_sdk_traces_become_a_session_with_a_run_spans_and_usage(server: Any, api: Api) -> None:
    conversation = f"conv-{uuid.uuid4()}"
    exporter = OTLPSpanExporter(
        endpoint=f"{server.otlp_url}/v1/traces", compression=Compression.Gzip
    )
    provider = TracerProvider(resource=resource("claude-code"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # one export per span
    tracer = provider.get_tracer("e2e")
    with tracer.start_as_current_span(
        "invoke_agent coder",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "coder",
            "gen_ai.conversation.id": conversation,
        },
    ) as root:
        with tracer.start_as_current_span(
            "chat claude-sonnet-4-6",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-6",
                "gen_ai.conversation.id": conversation,
                "gen_ai.usage.input_tokens": 1500,
                "gen_ai.usage.output_tokens": 120,
                "gen_ai.usage.cache_read.input_tokens": 1000,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool Bash",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "Bash",
                "gen_ai.tool.call.id": "call_e2e",
            },
        ) as tool:
            tool.set_status(Status(StatusCode.ERROR, "exit status 2"))
        trace_id = format(root.get_span_context().trace_id, "032x")
        root_id = format(root.get_span_context().span_id, "016x")
    provider.shutdown()

    detail = api.session(conversation)
    session = detail["session"]
    assert (session["framework"], session["host"], session["client_id"]) == (
        "claude-code",
        "e2e-host",
        "e2e-host",
    )
    assert session["tokens"] == {
        "input": 1500,
        "output": 120,
        "cache_read": 1000,
        "cache_write": 0,
        "total": 1620,
    }
    assert [run["run_id"] for run in detail["runs"]] == [trace_id]

    run = api.run(trace_id)
    assert run["run"]["status"] == "ok"
    assert run["run"]["tokens"]["total"] == 1620
    spans = {s["kind"]: s for s in run["spans"]}
    assert set(spans) == {"llm", "tool"}
    assert spans["llm"]["name"] == "claude-sonnet-4-6"
    assert (spans["tool"]["name"], spans["tool"]["status"]) == ("Bash", "error")
    assert spans["tool"]["parent_span_id"] == root_id
    assert spans["tool"]["trace_id"] == trace_id
    assert [e["message"] for e in run["errors"]] == ["exit status 2"]


def emit(logger: Any, name: str, attributes: dict[str, Any], severity: int = 9) -> None:
    logger.emit(
        LogRecord(
            event_name=name,
            body=name,
            attributes=attributes,
            severity_number=SeverityNumber(severity),
        )
    )


def test_sdk_claude_code_events_become_a_run_with_usage_and_cost(server: Any, api: Api) -> None:
    session_id, prompt_id = str(uuid.uuid4()), str(uuid.uuid4())
    provider = LoggerProvider(resource=resource("claude-code"))
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{server.otlp_url}/v1/logs"))
    )
    logger = provider.get_logger("com.anthropic.claude_code.events")
    common = {"session.id": session_id, "prompt.id": prompt_id}
    emit(logger, "claude_code.user_prompt", {**common, "prompt": "Fix the failing test"})
    emit(
        logger,
        "claude_code.api_request",
        {
            **common,
            "model": "claude-sonnet-4-6",
            "cost_usd": 0.0213,
            "duration_ms": 4820,
            "input_tokens": 312,
            "output_tokens": 540,
            "cache_read_tokens": 18200,
            "cache_creation_tokens": 0,
        },
    )
    emit(
        logger,
        "claude_code.tool_result",
        {
            **common,
            "tool_name": "Bash",
            "success": "true",
            "duration_ms": "612",
            "tool_use_id": f"toolu_{uuid.uuid4().hex[:12]}",
        },
    )
    emit(
        logger,
        "claude_code.api_error",
        {
            **common,
            "model": "claude-sonnet-4-6",
            "error": "Overloaded",
            "status_code": "529",
        },
        severity=17,
    )
    provider.shutdown()

    session = api.session(session_id)["session"]
    assert session["framework"] == "claude-code"
    assert session["title"] == "Fix the failing test"
    assert session["tokens"] == {
        "input": 312,
        "output": 540,
        "cache_read": 18200,
        "cache_write": 0,
        "total": 852,
    }
    assert session["cost_usd"] == pytest.approx(0.0213)
    run = api.run(prompt_id)
    assert run["run"]["input"] == "Fix the failing test"
    kinds = sorted((s["kind"], s["name"], s["duration_ms"]) for s in run["spans"])
    assert kinds == [("llm", "claude-sonnet-4-6", 4820), ("tool", "Bash", 612)]
    assert all(s["reconstructed"] for s in run["spans"])
    assert [(e["kind"], e["message"]) for e in run["errors"]] == [("api", "Overloaded")]


def test_sdk_metrics_are_stored_without_counting_usage(server: Any, api: Api) -> None:
    session_id = str(uuid.uuid4())
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{server.otlp_url}/v1/metrics"),
        export_interval_millis=3_600_000,
    )
    provider = MeterProvider(resource=resource("claude-code"), metric_readers=[reader])
    counter = provider.get_meter("com.anthropic.claude_code").create_counter(
        "claude_code.token.usage", unit="tokens"
    )
    counter.add(312, {"session.id": session_id, "type": "input", "model": "claude-sonnet-4-6"})
    counter.add(540, {"session.id": session_id, "type": "output", "model": "claude-sonnet-4-6"})
    provider.shutdown()

    events = api.events(session_id)
    points = sorted(
        (e["payload"]["metric"]["attributes"]["type"], e["payload"]["metric"]["value"])
        for e in events
    )
    assert points == [("input", 312), ("output", 540)]
    assert {e["event"]["type"] for e in events} == {"metric.snapshot"}
    assert api.session(session_id)["session"]["tokens"]["total"] == 0


def fresh_fixture(name: str, replacements: dict[str, str]) -> str:
    text = fixture_text(name)
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_spec_json_fixtures_are_stored_once_even_when_resent(server: Any, api: Api) -> None:
    session_id, trace_id = str(uuid.uuid4()), new_trace_id().hex()
    logs = fresh_fixture(
        "claude_api_request.logs.json",
        {
            "9b2f0c3a-1d4e-4f5a-8b6c-7d8e9f0a1b2c": session_id,
            "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9": str(uuid.uuid4()),
        },
    )
    traces = fresh_fixture(
        "openclaw_execute_tool.traces.json",
        {
            "4bf92f3577b34da6a3ce929d0e0e4736": trace_id,
        },
    )
    with httpx.Client(base_url=server.otlp_url, headers=JSON) as client:
        for _ in range(2):
            assert client.post("/v1/logs", content=logs).json() == {}
            assert client.post("/v1/traces", content=traces).json() == {}

    session = api.session(session_id)["session"]
    assert (session["tokens"]["total"], session["cost_usd"]) == (852, pytest.approx(0.0213))
    assert len(api.events(session_id)) == 2  # llm span.end, metric.snapshot
    (tool,) = api.run(trace_id)["spans"]
    assert (tool["kind"], tool["name"], tool["duration_ms"]) == ("tool", "exec", 142)
    assert api.session(trace_id)["session"]["framework"] == "openclaw"
    assert len(api.events(trace_id)) == 1  # one complete span.end


def test_json_built_from_proto_messages_and_partial_success(server: Any, api: Api) -> None:
    trace, root = new_trace_id(), new_span_id()
    good = span("GET /health", trace, new_span_id(), {"http.route": "/health"}, parent=root)
    broken = span("broken", trace, b"\x00" * 8)
    body = json.loads(otlp_json(trace_request([good, broken], "billing-api")))
    response = httpx.post(f"{server.otlp_url}/v1/traces", json=body)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    (stored,) = api.run(trace.hex())["spans"]
    assert (stored["kind"], stored["name"]) == ("internal", "GET /health")
    assert api.session(trace.hex())["session"]["framework"] == "billing-api"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\x0a\xff\xff\xff\x0f", PROTOBUF, 400),
        (b'{"resourceSpans": "nope"}', JSON, 400),
        (b"{", JSON, 400),
        (b"hello", {"Content-Type": "text/plain"}, 415),
    ],
)
def test_bad_input_is_answered_4xx_by_the_real_server(
    server: Any, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = httpx.post(f"{server.otlp_url}/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    if headers is JSON:
        assert response.json()["code"] == 3 and response.json()["message"]


def test_the_ingest_gateway_serves_the_same_routes(server: Any) -> None:
    body = trace_request([span("x", new_trace_id(), new_span_id())]).SerializeToString()
    response = httpx.post(f"{server.ingest_url}/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"


def post_json_logs(server: Any, records: list[Any], service: str) -> None:
    body = otlp_json(logs_request(records, service))
    response = httpx.post(f"{server.otlp_url}/v1/logs", content=body, headers=JSON)
    assert (response.status_code, response.json()) == (200, {})


def test_codex_json_events_make_a_session_whose_turn_holds_tool_and_usage(
    server: Any, api: Api
) -> None:
    conversation = str(uuid.uuid4())
    common = {"conversation.id": conversation, "model": "gpt-5.4"}
    sse = {**flattened_record("codex.sse_event"), "conversation.id": conversation}
    tool = {**flattened_record("codex.tool_result"), "conversation.id": conversation}
    tool["call_id"] = f"call_{uuid.uuid4().hex[:8]}"
    records = [
        log_record(
            {**common, "event.name": "codex.conversation_starts", "provider_name": "openai"}
        ),
        log_record({**common, "event.name": "codex.user_prompt", "prompt": "Rename foo"}, at_ms=1),
        log_record(tool, at_ms=5010),
        log_record(sse, at_ms=7120),
    ]
    post_json_logs(server, records[:2], "codex_exec")
    post_json_logs(server, records[2:], "codex_exec")  # a later export joins the same turn

    detail = api.session(conversation)
    assert detail["session"]["framework"] == "codex"
    assert detail["session"]["model"] == "gpt-5.4"
    assert detail["session"]["tokens"]["input"] == 18234
    (run,) = detail["runs"]
    assert run["input"] == "Rename foo"
    assert run["tokens"]["cache_read"] == 16000
    (tool_span,) = api.run(run["run_id"])["spans"]
    hook_span = derived_id("codex", conversation, "span", f"tool:{tool['call_id']}")
    assert (tool_span["span_id"], tool_span["name"]) == (hook_span, "shell")


def test_gemini_json_events_make_a_run_per_prompt_id(server: Any, api: Api) -> None:
    session_id = str(uuid.uuid4())
    prompt_id = f"{session_id}########1"
    ids = {"session.id": session_id, "prompt_id": prompt_id}
    records = [
        log_record({**ids, "event.name": "gemini_cli.user_prompt", "prompt": "Why?"}),
        log_record({**flattened_record("gemini_cli.api_response"), **ids}, at_ms=9300),
        log_record({**flattened_record("gemini_cli.tool_call"), **ids}, at_ms=6900),
    ]
    post_json_logs(server, records, "gemini-cli")

    session = api.session(session_id)["session"]
    assert (session["framework"], session["tokens"]["total"]) == ("gemini-cli", 4820)
    run = api.run(prompt_id)
    assert sorted((s["kind"], s["status"]) for s in run["spans"]) == [
        ("llm", "ok"),
        ("tool", "error"),
    ]
    assert [e["message"] for e in run["errors"]] == ["Command exited with code 1"]


def test_sdk_span_under_a_remote_parent_is_a_finished_run(server: Any, api: Api) -> None:
    trace_id, remote_span_id = uuid.uuid4().int, uuid.uuid4().int >> 64
    remote = SpanContext(trace_id, remote_span_id, is_remote=True, trace_flags=TraceFlags(1))
    provider = TracerProvider(resource=resource("agent-service"))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.otlp_url}/v1/traces"))
    )
    with provider.get_tracer("e2e").start_as_current_span(
        "invoke_agent helper",
        context=set_span_in_context(NonRecordingSpan(remote)),
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
    ):
        pass
    provider.shutdown()

    run = api.run(format(trace_id, "032x"))["run"]
    assert run["status"] == "ok"
    assert run["ended_at"] is not None
