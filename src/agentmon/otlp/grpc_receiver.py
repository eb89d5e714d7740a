"""OTLP over gRPC (the exporters' default protocol, conventionally :4317), with the `grpc`
extra (`grpcio`): the three Export services, mapped exactly as OTLP/HTTP maps them (the same
`Signal`s of `receiver.py`) and handed to the same `Intake`.

Off unless AGENTMON_OTLP_GRPC_ADDR is set. Credentials as on every port: once any exists,
each call needs `authorization: Bearer <key>` metadata (the exporters' `headers`) with the
ingest scope (or admin); otherwise UNAUTHENTICATED or PERMISSION_DENIED. A full store or bus
answers UNAVAILABLE, which the exporters retry.

Calls are under the process's one `Admission`, with the HTTP ingest ports and WebSocket
frames: past the in-flight bound or while the event loop runs late, an Export is refused at
once (before its credential is checked or its message parsed) with UNAVAILABLE carrying a
`RetryInfo` (the OTLP spec's throttling hint), as is an Export the bus cannot take.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError, Message
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from agentmon.auth import KeyRing, allows
from agentmon.config import parse_addr
from agentmon.events import MAX_BODY_BYTES
from agentmon.ingest.admission import RETRY_AFTER_S, Admission
from agentmon.intake import Intake, IntakeUnavailable
from agentmon.otlp.receiver import SIGNALS, Receiver, Signal, export_answer
from agentmon.store.keys import INGEST

log = logging.getLogger("agentmon.otlp")

SERVICES = {
    "/v1/traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "/v1/logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "/v1/metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
GRACE_S = 5.0


class GrpcReceiver:
    """The gRPC server of the three OTLP Export services."""

    def __init__(self, intake: Intake, keyring: KeyRing, admission: Admission) -> None:
        self.receiver = Receiver(intake, MAX_BODY_BYTES)
        self.keyring = keyring
        self.admission = admission

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        return [
            grpc.method_handlers_generic_handler(
                SERVICES[signal.path],
                {
                    "Export": grpc.unary_unary_rpc_method_handler(
                        self._export_for(signal),
                        response_serializer=signal.response_type.SerializeToString,
                    )
                },
            )
            for signal in SIGNALS
        ]

    def _export_for(self, signal: Signal) -> Any:
        async def export(request: bytes, context: grpc.aio.ServicerContext) -> Message:
            return await self.export(signal, request, context)

        return export

    async def export(
        self, signal: Signal, request: bytes, context: grpc.aio.ServicerContext
    ) -> Message:
        refused = self.admission.refusal()
        if refused is not None:
            await _unavailable(context, f"agentmon cannot take telemetry now: {refused}")
        with self.admission.holding():
            return await self._admitted(signal, request, context)

    async def _admitted(
        self, signal: Signal, request: bytes, context: grpc.aio.ServicerContext
    ) -> Message:
        await self._check(context)
        message = signal.request_type()
        try:
            message.ParseFromString(request)
        except DecodeError as exc:  # INVALID_ARGUMENT: the client's fault, not retried
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"not a {message.DESCRIPTOR.name}: {exc}"
            )
        mapped = signal.map(message, self.receiver.memory)
        try:
            await self.receiver.deliver(mapped.events)
        except IntakeUnavailable as exc:
            message = f"agentmon cannot store telemetry now: {exc}"
            await _unavailable(context, message, exc.retry_after)
        return export_answer(signal, mapped)

    async def _check(self, context: grpc.aio.ServicerContext) -> None:
        """Refuse the call unless its credential may ingest (while any credential exists)."""
        try:
            if not await self.keyring.configured():
                return
            identity = await self.keyring.identify(_bearer(context), _peer_address(context))
        except Exception as exc:  # the key store is away: fail closed, say so
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"cannot check credentials: {exc}")
        if identity is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong key (metadata authorization: Bearer <key>)",
            )
        elif not allows(identity.scope, INGEST):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"key {identity.name!r} ({identity.scope}) cannot send telemetry: "
                "it needs an ingest or admin key",
            )

    async def serve(self, addr: str) -> None:
        """Serve on `addr` until cancelled."""
        host, port = parse_addr(addr)
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_BODY_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        server.add_generic_rpc_handlers(self.handlers())
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if server.add_insecure_port(target) == 0:
            raise OSError(f"otlp-grpc cannot listen on {addr} (AGENTMON_OTLP_GRPC_ADDR)")
        await server.start()
        log.info("otlp-grpc listening on %s", addr)
        try:
            await server.wait_for_termination()
        finally:
            await server.stop(GRACE_S)


async def _unavailable(
    context: grpc.aio.ServicerContext, message: str, retry_after: float = RETRY_AFTER_S
) -> None:
    """End the call with UNAVAILABLE (which OTLP exporters retry) and when to retry: a
    `google.rpc.RetryInfo` in the status details (`grpc-status-details-bin`, read by the Go
    and Java exporters and the Collector) and alone in `google.rpc.retryinfo-bin` (read by
    the Python exporter)."""
    await context.abort(
        grpc.StatusCode.UNAVAILABLE, message, trailing_metadata=retry_metadata(message, retry_after)
    )


def retry_metadata(message: str, retry_after: float) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata of an UNAVAILABLE answer that asks for a retry in `retry_after` s."""
    delay = Duration()
    delay.FromNanoseconds(round(max(0.0, retry_after) * 1e9))
    info = RetryInfo(retry_delay=delay)
    detail = AnyMessage()
    detail.Pack(info)
    code = grpc.StatusCode.UNAVAILABLE.value[0]
    status = Status(code=code, message=message, details=[detail])
    return (
        ("grpc-status-details-bin", status.SerializeToString()),
        ("google.rpc.retryinfo-bin", info.SerializeToString()),
    )


def _bearer(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        is_bearer = isinstance(value, str) and value[:7].lower() == "bearer "
        if key.lower() == "authorization" and is_bearer:
            return str(value)[7:].strip()
    return ""


def _peer_address(context: grpc.aio.ServicerContext) -> str:
    """The client's address from gRPC's peer string ("ipv4:10.0.0.5:51234", "ipv6:[::1]:5")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    return peer
