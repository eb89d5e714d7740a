"""OTLP over gRPC end to end: the real OpenTelemetry SDK's gRPC exporters → a running
`agentmon serve` with AGENTMON_OTLP_GRPC_ADDR and keys → the query API. The same mapping as
OTLP/HTTP, the same keys (metadata `authorization`), the same redaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from tests.auth.auth_support import make_keys
from tests.conftest import ServerProcess, free_port, start_embedded, wait_until

from agentmon.config import Settings
from agentmon.store.keys import ADMIN, INGEST, READ

GITHUB_TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"


@pytest.fixture(scope="module")
def grpc_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, str, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("grpc") / "data"
    keys = make_keys(Settings(data_dir=data_dir))
    address = f"127.0.0.1:{free_port()}"
    server = start_embedded(data_dir, env={"AGENTMON_OTLP_GRPC_ADDR": address})
    wait_until(lambda: "otlp-grpc listening" in server.log(), 30, "the gRPC port")
    yield server, address, keys
    server.stop()


def spans_for(conversation: str) -> list[ReadableSpan]:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "claude-code", "host.name": "grpc-host"})
    )
    tracer = provider.get_tracer("grpc-e2e")
    with tracer.start_as_current_span(
        "chat claude-sonnet-4-6",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4-6",
            "gen_ai.conversation.id": conversation,
            "gen_ai.usage.input_tokens": 700,
            "gen_ai.usage.output_tokens": 30,
            "gen_ai.prompt": f"deploy with GITHUB_TOKEN={GITHUB_TOKEN}",
        },
    ) as span:
        pass
    return [span]  # type: ignore[list-item]


def export(address: str, spans: list[ReadableSpan], key: str | None) -> SpanExportResult:
    headers = {"authorization": f"Bearer {key}"} if key else None
    exporter = OTLPSpanExporter(endpoint=address, insecure=True, headers=headers, timeout=10)
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


def session(server: ServerProcess, key: str, conversation: str) -> httpx.Response:
    return httpx.get(
        f"{server.query_url}/v1/sessions/{quote(conversation, safe='')}",
        headers={"authorization": f"Bearer {key}"},
    )


def test_traces_over_grpc_with_an_ingest_key_become_a_session_redacted(
    grpc_server: tuple[ServerProcess, str, dict[str, str]],
) -> None:
    server, address, keys = grpc_server
    conversation = f"grpc-{uuid.uuid4()}"
    assert export(address, spans_for(conversation), keys[INGEST]) == SpanExportResult.SUCCESS
    detail = session(server, keys[READ], conversation)
    assert detail.status_code == 200, detail.text
    assert detail.json()["session"]["tokens"]["total"] == 730
    events = httpx.get(
        f"{server.query_url}/v1/events",
        params={"session_id": conversation},
        headers={"authorization": f"Bearer {keys[READ]}"},
    ).json()["events"]
    assert events and GITHUB_TOKEN not in str(events)
    assert "[redacted:github-pat]" in str(events)


@pytest.mark.parametrize("who", ["none", "wrong", READ])
def test_grpc_without_an_ingest_credential_is_refused(
    grpc_server: tuple[ServerProcess, str, dict[str, str]], who: str
) -> None:
    server, address, keys = grpc_server
    key = {"none": None, "wrong": "amk_00000000_" + "x" * 43}.get(who, keys.get(who))
    conversation = f"grpc-refused-{uuid.uuid4()}"
    started = time.monotonic()
    assert export(address, spans_for(conversation), key) == SpanExportResult.FAILURE
    assert time.monotonic() - started < 9, "refused calls must not be retried until the timeout"
    assert session(server, keys[ADMIN], conversation).status_code == 404


def test_logs_over_grpc_with_an_admin_key(
    grpc_server: tuple[ServerProcess, str, dict[str, str]],
) -> None:
    server, address, keys = grpc_server
    session_id = str(uuid.uuid4())
    exporter = OTLPLogExporter(
        endpoint=address, insecure=True, headers={"authorization": f"Bearer {keys[ADMIN]}"}
    )
    provider = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    logger.emit(
        LogRecord(
            event_name="claude_code.user_prompt",
            body="claude_code.user_prompt",
            attributes={"session.id": session_id, "prompt": "hello over gRPC"},
            severity_number=SeverityNumber(9),
        )
    )
    provider.shutdown()
    wait_until(
        lambda: session(server, keys[READ], session_id).status_code == 200, 10, "the session"
    )


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x00" * 64, b""],
    ids=["ff", "short", "nul", "empty"],
)
def test_hostile_grpc_messages_are_invalid_argument_or_accepted_never_internal(
    grpc_server: tuple[ServerProcess, str, dict[str, str]], body: bytes
) -> None:
    import grpc

    _server, address, keys = grpc_server
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        metadata = [("authorization", f"Bearer {keys[INGEST]}")]
        try:
            call(body, metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, exc
