"""The ingest gateway's ASGI apps: native events on `:8080`, OTLP on `:4318`."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from agentmon.auth import BearerAuth
from agentmon.events import MAX_BODY_BYTES
from agentmon.http_body import BodyError, media_type, read_body
from agentmon.ingest.admission import RETRY_AFTER_S, Admission
from agentmon.ingest.batch import BatchError, ParsedBatch, parse_batch
from agentmon.ingest.openapi import ingest_openapi
from agentmon.intake import Intake, IntakeUnavailable
from agentmon.metrics import (
    EVENTS_ACCEPTED,
    EVENTS_REJECTED,
    INGEST_UNAVAILABLE,
    PUBLISH_SECONDS,
    metrics_endpoint,
)
from agentmon.otlp import routes

log = logging.getLogger("agentmon.ingest")

JSON_TYPES = frozenset({"application/json", "text/json"})


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def deliver(intake: Intake, parsed: ParsedBatch, source: str) -> None:
    """Hand valid events to the bus; count what was accepted and refused."""
    EVENTS_REJECTED.labels(source).inc(len(parsed.rejected))
    if not parsed.events:
        return
    started = time.perf_counter()
    try:
        await intake.accept(parsed.events)
    except IntakeUnavailable:
        INGEST_UNAVAILABLE.inc()
        raise
    PUBLISH_SECONDS.observe(time.perf_counter() - started)
    EVENTS_ACCEPTED.labels(source).inc(len(parsed.events))


class IngestEndpoints:
    def __init__(self, intake: Intake, admission: Admission | None = None) -> None:
        self.intake = intake
        self.admission = admission

    async def healthz(self, request: Request) -> Response:
        report = await self.intake.health()
        healthy = all(value == "ok" for value in report.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", **report},
            status_code=200 if healthy else 503,
        )

    async def post_events(self, request: Request) -> Response:
        kind = media_type(request)
        if kind not in JSON_TYPES:
            problem = f"content-type {kind!r} is not JSON" if kind else "content-type is missing"
            return error(415, f"{problem}; send Content-Type: application/json")
        try:
            parsed = parse_batch(await read_body(request, MAX_BODY_BYTES))
            await deliver(self.intake, parsed, "http")
        except (BodyError, BatchError) as exc:
            return error(exc.status, exc.message)
        except IntakeUnavailable as exc:
            return error(503, str(exc), **{"Retry-After": str(max(1, round(exc.retry_after)))})
        status = 400 if parsed.rejected and not parsed.events else 200
        return JSONResponse(parsed.answer(), status_code=status)

    async def websocket(self, websocket: WebSocket) -> None:
        """Each frame (an event or an array of them) is answered with its result, in order.
        A frame that arrives while the process refuses new work (the admission shared with
        the HTTP ports) is answered with a 503 and `retry_after`, unread; the connection
        stays open and the frames before it keep their answers."""
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes") or (message.get("text") or "").encode()
                await websocket.send_text(await self._answer_frame(data))
        except WebSocketDisconnect:
            return

    async def _answer_frame(self, data: bytes) -> str:
        answer: dict[str, Any]
        admission = self.admission
        refused = admission.refusal() if admission is not None else None
        if refused is not None:
            answer = {"error": refused, "status": 503, "retry_after": RETRY_AFTER_S}
        else:
            with admission.holding() if admission is not None else contextlib.nullcontext():
                answer = await self._frame_result(data)
        return msgspec.json.encode(answer).decode()

    async def _frame_result(self, data: bytes) -> dict[str, Any]:
        answer: dict[str, Any]
        if len(data) > MAX_BODY_BYTES:
            answer = {"error": f"frame is over the {MAX_BODY_BYTES} byte limit", "status": 413}
        else:
            try:
                parsed = parse_batch(data)
                await deliver(self.intake, parsed, "websocket")
                answer = parsed.answer()
            except BatchError as exc:
                answer = {"error": exc.message, "status": exc.status}
            except IntakeUnavailable as exc:
                answer = {"error": str(exc), "status": 503, "retry_after": exc.retry_after}
        return answer


async def openapi_endpoint(request: Request) -> Response:
    return JSONResponse(ingest_openapi())


def otlp_routes(intake: Intake) -> list[BaseRoute]:
    """The OTLP routes; build them once and mount the same list on every app that serves
    OTLP, so all ports share one receiver (and its trace/run correlation memory)."""
    return list(routes(intake, MAX_BODY_BYTES))


def create_ingest_app(
    intake: Intake,
    api_key: str | None = None,
    otlp: list[BaseRoute] | None = None,
    admission: Admission | None = None,
) -> BearerAuth:
    """The native ingest port. With `admission`, its WebSocket frames are under it (its
    POSTs are guarded by `Admission.guard` around the whole app, as the runtime does)."""
    endpoints = IngestEndpoints(intake, admission)
    app = Starlette(
        routes=[
            Route("/healthz", endpoints.healthz),
            Route("/metrics", metrics_endpoint),
            Route("/openapi.json", openapi_endpoint),
            Route("/v1/events", endpoints.post_events, methods=["POST"]),
            WebSocketRoute("/v1/ws", endpoints.websocket),
            *(otlp if otlp is not None else otlp_routes(intake)),
        ]
    )
    return BearerAuth(app, api_key)


def create_otlp_app(
    intake: Intake, api_key: str | None = None, otlp: list[BaseRoute] | None = None
) -> BearerAuth:
    """The conventional OTLP/HTTP address (:4318) serves only the OTLP paths."""
    endpoints = IngestEndpoints(intake)
    routes = otlp if otlp is not None else otlp_routes(intake)
    app = Starlette(routes=[Route("/healthz", endpoints.healthz), *routes])
    return BearerAuth(app, api_key)
