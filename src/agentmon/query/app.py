"""The query API (`:8081`): reads the store, never writes it; live feed over WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from agentmon import __version__
from agentmon.csrf import IDENTITY, ForgedChange, check_change
from agentmon.events import EVENT_TYPES, Envelope, ts_to_ms
from agentmon.live import LiveFilter, LiveFull, LiveHub
from agentmon.metrics import SESSIONS, metrics_endpoint
from agentmon.query import timezones, views
from agentmon.query.admin import admin_routes
from agentmon.query.alerts import alerts_routes
from agentmon.query.budgets import budgets_routes
from agentmon.query.costs import costs_routes
from agentmon.query.models import (
    Agents,
    AgentState,
    AttentionItem,
    AttentionKind,
    AttentionList,
    ErrorGroups,
    ErrorOccurrences,
    ErrorResponse,
    EventPage,
    Facets,
    Health,
    InstanceHistory,
    Instances,
    RunDetail,
    Session,
    SessionDetail,
    SessionPage,
    SessionStatus,
    Summary,
    Timeline,
    Timeseries,
    TopTools,
    Window,
)
from agentmon.query.params import (
    BadParameter,
    SortDirection,
    check_text_params,
    encode_cursor,
    event_cursor,
    filter_text,
    filter_texts,
    sorted_session_cursor,
    timestamp,
)
from agentmon.query.records import ExportFormat, encode_records
from agentmon.query.search import search_routes
from agentmon.store import NotFound, Store
from agentmon.store.agents import roster as agent_roster
from agentmon.store.attention import (
    ANONYMOUS,
    NotInKind,
    acknowledge,
    attention,
    current_item,
    unacknowledge,
)
from agentmon.store.queries import (
    SESSION_STATUSES,
    WINDOWS,
    EventFilters,
    Page,
    SessionFilters,
    SessionOrder,
    SessionSort,
    event_position,
    every_row,
    session_position,
)
from agentmon.store.timeline import timeline
from agentmon.store.tool_latency import tool_latency

# an events page stops adding envelopes at this many bytes and hands back a cursor
MAX_EVENT_PAGE_BYTES = 4 * 1024 * 1024
SWAGGER_DIR = Path(__file__).parent / "static" / "swagger"
SWAGGER_PATH = "/docs/static"
TZ_HELP = "IANA time zone whose midnight starts today (default UTC), e.g. Europe/Paris"

BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A parameter is invalid (the error names it)"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **BAD_REQUEST,
    404: {"model": ErrorResponse, "description": "No such id"},
}


def _explain(exc: RequestValidationError) -> str:
    problems = []
    for item in exc.errors():
        where = item.get("loc", ())
        if where and where[0] == "body":  # a JSON body (PUT /v1/budgets): name the field
            field = ".".join(str(part) for part in where[1:] if not isinstance(part, int))
            named = f" field {field!r}" if field else ""
            problems.append(f"request body{named}: {item.get('msg', 'invalid')}")
            continue
        kind = where[0] if where and where[0] in ("path", "query") else "query"
        name = where[-1] if where else "request"
        problems.append(f"{kind} parameter {name!r}: {item.get('msg', 'invalid')}")
    return "; ".join(problems)


def create_query_app(store: Store, hub: LiveHub) -> FastAPI:
    app = FastAPI(
        title="agentmon query API",
        version=__version__,
        description="Sessions, runs, spans, stats and VM health of monitored AI agents.",
        docs_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _explain(exc)}, status_code=400)

    @app.exception_handler(BadParameter)
    async def bad_parameter(request: Request, exc: BadParameter) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(NotInKind)
    async def not_in_kind(request: Request, exc: NotInKind) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(ForgedChange)
    async def forged(request: Request, exc: ForgedChange) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=403)

    async def metrics(request: Request) -> Response:
        counts = await store.open_session_counts()
        for status in SESSION_STATUSES:
            if status != "ended":
                SESSIONS.labels(state=status).set(counts.get(status, 0))
        return await metrics_endpoint(request)

    app.router.routes.append(Route("/metrics", metrics, include_in_schema=False))
    app.mount(SWAGGER_PATH, StaticFiles(directory=SWAGGER_DIR), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{SWAGGER_PATH.lstrip('/')}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PATH.lstrip('/')}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PATH.lstrip('/')}/favicon-32x32.png",
        )

    app.include_router(_http_routes(store))
    app.include_router(costs_routes(store))
    app.include_router(budgets_routes(store))
    app.include_router(admin_routes(store))
    app.include_router(search_routes(store))
    app.include_router(alerts_routes(store))
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]

    @app.websocket("/v1/ws")
    async def live(
        websocket: WebSocket,
        framework: str | None = None,
        session_id: str | None = None,
        event_type: str | None = None,
        host: str | None = None,
    ) -> None:
        await websocket.accept()
        try:
            subscriber = hub.subscribe(LiveFilter(framework, session_id, event_type, host))
        except LiveFull as full:
            await websocket.close(code=1013, reason=str(full))
            return

        async def send_frames() -> None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.send_text(hub.hello())
                await subscriber.deliver(websocket.send_text)

        reader = asyncio.create_task(_read_filters(websocket, subscriber.filter))
        sender = asyncio.create_task(send_frames())
        try:
            await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hub.unsubscribe(subscriber)
            for task in (reader, sender):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    return app


async def _read_filters(websocket: WebSocket, live_filter: LiveFilter) -> None:
    """Apply `{"type": "filter", …}` messages until the client goes away."""
    while True:
        try:
            message = await websocket.receive_json()
        except ValueError:
            continue
        except (WebSocketDisconnect, RuntimeError):
            return
        if isinstance(message, dict) and message.get("type") == "filter":
            live_filter.framework = message.get("framework")
            live_filter.session_id = message.get("session_id")
            live_filter.event_type = message.get("event_type")
            live_filter.host = message.get("host")


def _http_routes(store: Store) -> APIRouter:
    router = APIRouter(dependencies=[Depends(check_text_params)])

    @router.get(
        "/healthz",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Health, "description": "The store does not answer"}},
    )
    async def healthz() -> JSONResponse:
        state = await store.health()
        return JSONResponse(
            {"status": "ok" if state == "ok" else "degraded", "store": state},
            status_code=200 if state == "ok" else 503,
        )

    @router.get(
        "/v1/events",
        tags=["events"],
        response_class=Response,
        responses={
            200: {"model": EventPage, "description": "Envelopes, newest first"},
            **BAD_REQUEST,
        },
    )
    async def list_events(
        event_type: str | None = None,
        framework: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        since: Annotated[str | None, Query(description="ts ≥ since")] = None,
        after: Annotated[str | None, Query(description="ts > after")] = None,
        before: Annotated[str | None, Query(description="ts < before")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the last page")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        if event_type is not None and event_type not in EVENT_TYPES:
            raise BadParameter(f"query parameter 'event_type': unknown type {event_type!r}")
        filters = EventFilters(
            event_type=event_type,
            framework=framework,
            session_id=session_id,
            run_id=run_id,
            since=timestamp("since", since),
            after=timestamp("after", after),
            before=timestamp("before", before),
        )
        page = await store.list_events(
            filters, position=event_cursor(cursor), limit=limit, max_bytes=MAX_EVENT_PAGE_BYTES
        )
        return Response(_event_page_json(page), media_type="application/json")

    @router.get("/v1/sessions", tags=["sessions"], responses=BAD_REQUEST)
    async def list_sessions(
        filters: Annotated[SessionFilters, Depends(_session_filters)],
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        sort: Annotated[SessionSort, Query(description=SORT_HELP)] = "started",
        dir: SortDirection = "desc",
    ) -> SessionPage:
        order = SessionOrder(sort, descending=dir == "desc")
        position = sorted_session_cursor(cursor, sort)
        page = await store.list_sessions(filters, position=position, limit=limit, order=order)
        total = None
        if cursor is None:
            total = await store.count_sessions(filters, at_most=SESSIONS_COUNTED + 1)
        return SessionPage(
            sessions=[views.session_view(row) for row in page.rows],
            next_cursor=_session_next(page, order),
            total=min(total, SESSIONS_COUNTED) if total is not None else None,
            total_capped=total is not None and total > SESSIONS_COUNTED,
        )

    @router.get(
        "/v1/sessions/export",
        tags=["sessions"],
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "Every session the filters select, newest start first",
                "content": {"text/csv": {}, "application/x-ndjson": {}},
            },
            **BAD_REQUEST,
        },
    )
    async def export_sessions(
        filters: Annotated[SessionFilters, Depends(_session_filters)],
        format: ExportFormat = "csv",
    ) -> StreamingResponse:
        sessions = _all_sessions(store, filters)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        name = f"sessions-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.{format}"
        return StreamingResponse(
            encode_records(sessions, Session, format),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/v1/sessions/{session_id}", tags=["sessions"], responses=NOT_FOUND)
    async def get_session(session_id: str) -> SessionDetail:
        return views.session_detail(await store.get_session(session_id))

    @router.get("/v1/runs/{run_id}", tags=["runs"], responses=NOT_FOUND)
    async def get_run(run_id: str) -> RunDetail:
        return views.run_detail(await store.get_run(run_id))

    @router.get("/v1/stats/summary", tags=["stats"], responses=BAD_REQUEST)
    async def summary(tz: Annotated[str | None, Query(description=TZ_HELP)] = None) -> Summary:
        now_ms, zone = int(time.time() * 1000), timezones.zone(tz)
        found = await store.summary(now_ms, timezones.day_start_ms(now_ms, zone))
        return views.summary_view(found).model_copy(update={"timezone": tz or "UTC"})

    @router.get("/v1/stats/timeseries", tags=["stats"], responses=BAD_REQUEST)
    async def timeseries(window: Window = "1h", framework: str | None = None) -> Timeseries:
        return views.timeseries_view(await store.timeseries(window, framework))

    @router.get("/v1/stats/tools", tags=["stats"], responses=BAD_REQUEST)
    async def tools(
        window: Window = "24h", limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> TopTools:
        rows = await store.top_tools(window, limit)
        since_ms = int(time.time() * 1000) - WINDOWS[window][0] * 1000
        latency = await tool_latency(store, [row["name"] for row in rows], since_ms)
        tools = [views.tool_view(row) for row in rows]
        for tool in tools:
            tool.p50_ms, tool.p95_ms = latency.get(tool.name, (None, None))
        return TopTools(window=window, tools=tools)

    @router.get("/v1/facets", tags=["stats"])
    async def facets() -> Facets:
        return views.facets_view(await store.facets())

    @router.get("/v1/openclaw/instances", tags=["openclaw"])
    async def instances() -> Instances:
        now_ms = int(time.time() * 1000)
        rows = await store.vm_instances()
        return Instances(instances=[views.instance_view(row, now_ms) for row in rows])

    @router.get("/v1/openclaw/instances/{name}/history", tags=["openclaw"], responses=NOT_FOUND)
    async def instance_history(name: str, window: Window = "1h") -> InstanceHistory:
        if name not in {row["name"] for row in await store.vm_instances()}:
            raise NotFound(f"no instance {name!r}")
        rows = await store.vm_history(name, window)
        return InstanceHistory(
            name=name, window=window, points=[views.history_point(row) for row in rows]
        )

    @router.get(
        "/v1/agents",
        tags=["agents"],
        response_class=Response,
        responses={
            200: {"model": Agents, "description": "Whoever needs a person first"},
            **BAD_REQUEST,
        },
    )
    async def agents(
        window: Window = "24h",
        tz: Annotated[str | None, Query(description=TZ_HELP)] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="Agents per page")] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000, description="Agents before the page")] = 0,
        state: Annotated[AgentState | None, Query(description="Only agents in it")] = None,
    ) -> Response:
        """One page of the agents, whoever needs a person first; the counts cover all of
        them, the total those in `state` (all without it)."""
        # plain dicts encoded by msgspec: pydantic models for 1,000 agents cost more than
        # the store's queries; the `Agents` model above documents the same shape
        now_ms, zone = int(time.time() * 1000), timezones.zone(tz)
        day_start = timezones.day_start_ms(now_ms, zone)
        status = views.AGENT_STATUS.get(state, state) if state else None
        found = await agent_roster(store, window, now_ms, day_start, limit, offset, status)
        answer = views.agents_view(window, found, tz or "UTC", offset)
        return Response(msgspec.json.encode(answer), media_type="application/json")

    @router.get("/v1/agents/timeline", tags=["agents"], responses=BAD_REQUEST)
    async def agents_timeline(
        hours: Annotated[int, Query(ge=1, le=48, description="How far back, in hours")] = 6,
    ) -> Timeline:
        """Each agent's working and waiting spans over the last hours (the rest is idle)."""
        return views.timeline_view(hours, await timeline(store, hours))

    @router.get("/v1/errors/groups", tags=["errors"], responses=BAD_REQUEST)
    async def error_groups(window: Window = "24h") -> ErrorGroups:
        return views.error_groups_view(await store.recent_errors(window))

    @router.get("/v1/errors", tags=["errors"], responses=BAD_REQUEST)
    async def errors(
        group: Annotated[str, Query(description="A group id from /v1/errors/groups")],
        window: Window = "24h",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> ErrorOccurrences:
        return views.error_occurrences_view(group, await store.recent_errors(window), limit)

    router.include_router(_attention_routes(store))
    return router


ACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"model": ErrorResponse, "description": "Not sent by the agentmon page (CSRF)"},
    409: {"model": ErrorResponse, "description": "The session is not in that kind now"},
}


def _attention_routes(store: Store) -> APIRouter:
    router = APIRouter(tags=["attention"])

    @router.get("/v1/attention", responses=BAD_REQUEST)
    async def attention_list(
        window: Annotated[Window | None, Query(description="Default 24h")] = None,
        since: Annotated[str | None, Query(description="Instead of window (RFC 3339)")] = None,
        limit: Annotated[int, Query(ge=1, le=200, description="Items per kind")] = 50,
    ) -> AttentionList:
        """What needs a person: sessions that began waiting, got stuck, looped, were lost or
        failed within the window, per kind, each with its acknowledgement."""
        if window is not None and since is not None:
            raise BadParameter("query parameters 'window' and 'since': give one, not both")
        start = timestamp("since", since)
        if start is not None:
            since_ms, shown = ts_to_ms(start), None
        else:
            shown = window or "24h"
            since_ms = int(time.time() * 1000) - WINDOWS[shown][0] * 1000
        return views.attention_view(shown, await attention(store, since_ms, limit))

    @router.post("/v1/attention/{kind}/{item_id}/ack", responses=ACK_RESPONSES)
    async def acknowledge_item(
        kind: AttentionKind, item_id: str, request: Request
    ) -> AttentionItem:
        """Acknowledge the item's current occurrence, for every browser; it opens again when
        the thing happens again (a new wait, a later failure). Read keys may acknowledge."""
        check_change(request.scope)
        identity = request.scope.get(IDENTITY)
        by = identity.name if identity is not None else ANONYMOUS
        return views.attention_item(kind, await acknowledge(store, kind, item_id, by))

    @router.delete("/v1/attention/{kind}/{item_id}/ack", responses=ACK_RESPONSES)
    async def reopen_item(kind: AttentionKind, item_id: str, request: Request) -> AttentionItem:
        """Forget the acknowledgement: the item is open again."""
        check_change(request.scope)
        await unacknowledge(store, kind, item_id)
        return views.attention_item(kind, await current_item(store, kind, item_id))

    return router


def _session_filters(
    from_: Annotated[
        str | None, Query(alias="from", description="Started at or after (RFC 3339)")
    ] = None,
    to: Annotated[str | None, Query(description="Started before (RFC 3339)")] = None,
    framework: str | None = None,
    host: str | None = None,
    status: SessionStatus | None = None,
    tool: Annotated[str | None, Query(description="Called this tool at least once")] = None,
    model: Annotated[
        list[str] | None,
        Query(description="Made calls to this model; repeated, to any of them (at most 50)"),
    ] = None,
    project: Annotated[str | None, Query(description="Ran in this directory (cwd)")] = None,
) -> SessionFilters:
    start, end = timestamp("from", from_), timestamp("to", to)
    return SessionFilters(
        from_ms=ts_to_ms(start) if start else None,
        to_ms=ts_to_ms(end) if end else None,
        framework=framework,
        host=host,
        status=status,
        tool=filter_text("tool", tool),
        models=filter_texts("model", model),
        project=filter_text("project", project),
    )


SESSIONS_COUNTED = 10_000  # the first page's total counts this far at most
SORT_HELP = "Order by start, last event, cost, total tokens or errors (then session id)"


def _session_next(page: Page, order: SessionOrder) -> str | None:
    return encode_cursor(*order.position(page.rows[-1])) if page.more else None


async def _all_sessions(store: Store, filters: SessionFilters) -> AsyncIterator[Session]:
    def read(position: tuple[int, str] | None) -> Awaitable[Page]:
        return store.list_sessions(filters, position=position, limit=500)

    async for row in every_row(read, session_position):
        yield views.session_view(row)


def _event_page_json(page: Page) -> bytes:
    """The page as JSON, the stored envelopes copied as they are (never decoded)."""
    next_cursor = encode_cursor(*event_position(page.rows[-1])) if page.more else None
    events = ",".join(row["payload"] for row in page.rows)
    return b'{"events":[%s],"next_cursor":%s}' % (
        events.encode(),
        msgspec.json.encode(next_cursor),
    )


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """The generated document, minus the 422 FastAPI lists (this API answers 400 instead),
    plus the event envelope's own schema for the events /v1/events answers."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in schema["paths"].values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        components = schema["components"]["schemas"]
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        (envelope,), envelope_parts = msgspec.json.schema_components(
            [Envelope], ref_template="#/components/schemas/{name}"
        )
        components.update(envelope_parts)
        components["EventPage"]["properties"]["events"]["items"] = envelope
        app.openapi_schema = schema
    return app.openapi_schema
