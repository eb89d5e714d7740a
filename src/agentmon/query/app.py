"""The query API (`:8081`): reads the store, never writes it; live feed over WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import Route

from agentmon import __version__
from agentmon.events import EVENT_TYPES, normalize_ts, ts_to_ms
from agentmon.live import LiveFilter, LiveFull, LiveHub
from agentmon.metrics import metrics_endpoint
from agentmon.store import BadCursor, NotFound, Store
from agentmon.store.base import SESSION_STATUSES, WINDOWS

Window = Literal["1h", "6h", "24h", "7d"]
Status = Literal["active", "idle", "waiting", "ended", "error"]
assert set(Status.__args__) == set(SESSION_STATUSES)  # type: ignore[attr-defined]
assert set(Window.__args__) == set(WINDOWS)  # type: ignore[attr-defined]


class BadFilter(ValueError):
    pass


def _timestamp(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_ts(value)
    except ValueError:
        raise BadFilter(
            f"query parameter {name!r}: {value!r} is not an RFC 3339 timestamp"
        ) from None


def _explain(exc: RequestValidationError) -> str:
    problems = []
    for item in exc.errors():
        where = item.get("loc", ())
        name = where[-1] if where else "request"
        problems.append(f"query parameter {name!r}: {item.get('msg', 'invalid')}")
    return "; ".join(problems)


def create_query_app(store: Store, hub: LiveHub) -> FastAPI:
    app = FastAPI(
        title="agentmon query API",
        version=__version__,
        description="Sessions, runs, spans, stats and VM health of monitored AI agents.",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _explain(exc)}, status_code=400)

    @app.exception_handler(BadFilter)
    async def bad_filter(request: Request, exc: BadFilter) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, exc: BadCursor) -> JSONResponse:
        return JSONResponse({"error": f"query parameter 'cursor': {exc}"}, status_code=400)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    app.router.routes.append(Route("/metrics", metrics_endpoint, include_in_schema=False))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        state = await store.health()
        return JSONResponse(
            {"status": "ok" if state == "ok" else "degraded", "store": state},
            status_code=200 if state == "ok" else 503,
        )

    @app.get("/v1/events", tags=["events"])
    async def list_events(
        event_type: str | None = None,
        framework: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        since: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        if event_type is not None and event_type not in EVENT_TYPES:
            raise BadFilter(f"query parameter 'event_type': unknown type {event_type!r}")
        events = await store.list_events(
            event_type=event_type,
            framework=framework,
            session_id=session_id,
            run_id=run_id,
            since=_timestamp("since", since),
            limit=limit,
        )
        return {"events": events}

    @app.get("/v1/sessions", tags=["sessions"])
    async def list_sessions(
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        framework: str | None = None,
        host: str | None = None,
        status: Status | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        start, end = _timestamp("from", from_), _timestamp("to", to)
        sessions, next_cursor = await store.list_sessions(
            from_ms=ts_to_ms(start) if start else None,
            to_ms=ts_to_ms(end) if end else None,
            framework=framework,
            host=host,
            status=status,
            cursor=cursor,
            limit=limit,
        )
        return {"sessions": sessions, "next_cursor": next_cursor}

    @app.get("/v1/sessions/{session_id}", tags=["sessions"])
    async def get_session(session_id: str) -> dict[str, Any]:
        return await store.get_session(session_id)

    @app.get("/v1/runs/{run_id}", tags=["runs"])
    async def get_run(run_id: str) -> dict[str, Any]:
        return await store.get_run(run_id)

    @app.get("/v1/stats/summary", tags=["stats"])
    async def summary() -> dict[str, Any]:
        return await store.summary()

    @app.get("/v1/stats/timeseries", tags=["stats"])
    async def timeseries(window: Window = "1h", framework: str | None = None) -> dict[str, Any]:
        return await store.timeseries(window, framework)

    @app.get("/v1/stats/tools", tags=["stats"])
    async def tools(
        window: Window = "24h", limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> dict[str, Any]:
        return {"window": window, "tools": await store.top_tools(window, limit)}

    @app.get("/v1/facets", tags=["stats"])
    async def facets() -> dict[str, Any]:
        return await store.facets()

    @app.get("/v1/openclaw/instances", tags=["openclaw"])
    async def instances() -> dict[str, Any]:
        return {"instances": await store.vm_instances()}

    @app.get("/v1/openclaw/instances/{name}/history", tags=["openclaw"])
    async def instance_history(name: str, window: Window = "1h") -> dict[str, Any]:
        names = {i["name"] for i in await store.vm_instances()}
        if name not in names:
            raise NotFound(f"no instance {name!r}")
        return {"name": name, "window": window, "points": await store.vm_history(name, window)}

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
