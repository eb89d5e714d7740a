"""The OTLP/HTTP receiver: POST /v1/traces, /v1/logs and /v1/metrics as Starlette routes.

The HTTP layer only reads, decodes and answers; the mapping to agentmon events lives in
`traces`, `logs` and `metrics`. Events go to the `Intake`, and the client gets its 200 only
once they are durable. Authentication is applied by whoever mounts these routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentmon.events import MAX_BATCH_EVENTS, Envelope
from agentmon.http_body import BodyError, read_body
from agentmon.intake import Intake, IntakeUnavailable
from agentmon.otlp.build import Mapped
from agentmon.otlp.decode import BadRequest, Encoding, encoding_of, parse
from agentmon.otlp.logs import map_logs
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.metrics import map_metrics
from agentmon.otlp.responses import message_response, status_response
from agentmon.otlp.traces import map_traces


@dataclass(frozen=True)
class Signal:
    path: str
    request_type: type[Message]
    response_type: type[Message]
    rejected_field: str
    """The partial_success counter: rejected_spans, rejected_log_records, …"""
    map: Callable[[Message, CorrelationMemory], Mapped]


SIGNALS = (
    Signal(
        "/v1/traces",
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
        "rejected_spans",
        map_traces,
    ),
    Signal(
        "/v1/logs",
        ExportLogsServiceRequest,
        ExportLogsServiceResponse,
        "rejected_log_records",
        map_logs,
    ),
    Signal(
        "/v1/metrics",
        ExportMetricsServiceRequest,
        ExportMetricsServiceResponse,
        "rejected_data_points",
        lambda message, _memory: map_metrics(message),
    ),
)


class Receiver:
    def __init__(self, intake: Intake, max_body_bytes: int) -> None:
        self.intake = intake
        self.max_body_bytes = max_body_bytes
        self.memory = CorrelationMemory()

    def endpoint(self, signal: Signal) -> Callable[[Request], Awaitable[Response]]:
        async def export(request: Request) -> Response:
            return await self.export(request, signal)

        return export

    async def export(self, request: Request, signal: Signal) -> Response:
        try:
            encoding = encoding_of(request.headers.get("content-type"))
        except BadRequest as exc:
            return status_response(exc.status, exc.message, Encoding.JSON)
        try:
            message = await self.read_message(request, signal, encoding)
        except BadRequest as exc:
            return status_response(exc.status, exc.message, encoding)
        mapped = signal.map(message, self.memory)
        try:
            await self.deliver(mapped.events)
        except IntakeUnavailable as exc:
            text = f"agentmon cannot store telemetry now: {exc}"
            return status_response(503, text, encoding, retry_after=exc.retry_after)
        return message_response(export_answer(signal, mapped), encoding)

    async def read_message(self, request: Request, signal: Signal, encoding: Encoding) -> Message:
        try:
            data = await read_body(request, self.max_body_bytes)
        except BodyError as exc:
            raise BadRequest(exc.status, exc.message) from None
        return parse(data, encoding, signal.request_type())

    async def deliver(self, events: list[Envelope]) -> None:
        for start in range(0, len(events), MAX_BATCH_EVENTS):
            await self.intake.accept(events[start : start + MAX_BATCH_EVENTS])


def export_answer(signal: Signal, mapped: Mapped) -> Message:
    answer = signal.response_type()
    if mapped.rejected:
        partial = answer.partial_success
        setattr(partial, signal.rejected_field, mapped.rejected)
        partial.error_message = mapped.error_message
    return answer


def routes(intake: Intake, max_body_bytes: int) -> list[Route]:
    """POST /v1/traces, /v1/logs and /v1/metrics, feeding `intake`."""
    receiver = Receiver(intake, max_body_bytes)
    return [Route(s.path, receiver.endpoint(s), methods=["POST"]) for s in SIGNALS]
