"""Keys made in a real store, and every route of every app, enumerated from the apps."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from agentmon.auth import SCOPE_EXTENSION
from agentmon.config import Settings
from agentmon.store import open_store
from agentmon.store.keys import ADMIN, INGEST, READ

API_KEY = "test-admin-key-0123456789abcdef"


def make_keys(settings: Settings) -> dict[str, str]:
    """An ingest, a read and an admin key made with `agentmon keys create` in the store of
    `settings` (its SQLite data directory, or its DATABASE_URL): {scope: key}."""
    env = {**os.environ, "AGENTMON_DATA_DIR": str(settings.data_dir)}
    env.pop("AGENTMON_API_KEY", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    keys = {}
    for scope in (INGEST, READ, ADMIN):
        created = subprocess.run(
            [sys.executable, "-m", "agentmon", "keys", "create", f"{scope}-key", "--scope", scope],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        keys[scope] = created.stdout.strip()
        assert re.fullmatch(r"amk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", keys[scope]), created.stdout
    return keys


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str  # an HTTP method, or "WS"
    declared: str | None = None  # the scope the route declares it needs (auth.needs)


def endpoints_of(routes: list[BaseRoute], prefix: str = "") -> list[Endpoint]:
    """Every (path, method) the routes answer, path parameters filled with 'x'."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            found += endpoints_of(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            found.append(Endpoint(_filled(prefix + route.path) + "/x", "GET"))
        elif isinstance(route, WebSocketRoute):
            found.append(Endpoint(_filled(prefix + route.path), "WS"))
        elif isinstance(route, Route):
            declared = (getattr(route, "openapi_extra", None) or {}).get(SCOPE_EXTENSION)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append(Endpoint(_filled(prefix + route.path), method, declared))
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}: teach this test about it")
    return found


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def app_routes(data_dir: Path) -> dict[str, list[Endpoint]]:
    """The endpoints of each port, taken from the app objects the services serve."""
    from agentmon.bus.local import LocalBus
    from agentmon.ingest import create_ingest_app, create_otlp_app
    from agentmon.live import LiveHub
    from agentmon.query import create_query_app
    from agentmon.runtime import ProcessorHealth
    from agentmon.web.app import API_PATHS

    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    query = endpoints_of(create_query_app(store, LiveHub(10)).routes)
    web_pages = [Endpoint(p, "GET") for p in ("/", "/sessions/x", "/static/app.css")]
    web_login = [Endpoint(p, m) for p in ("/login", "/logout", "/setup") for m in ("GET", "POST")]
    proxied = [e for e in query if e.path in API_PATHS or e.path.startswith(("/v1/", "/docs/"))]
    return {
        "ingest": endpoints_of(create_ingest_app(LocalBus()).app.routes),  # type: ignore[attr-defined]
        "otlp": endpoints_of(create_otlp_app(LocalBus()).app.routes),  # type: ignore[attr-defined]
        "query": query,
        "ui": [*web_pages, *web_login, *proxied],
        "metrics": endpoints_of(ProcessorHealth(None, store, settings).app().routes),
    }


OPEN = "open"
UI_OPEN = ("/login", "/logout", "/setup", "/healthz")


def needed_scope(port: str, endpoint: Endpoint) -> str:
    """What this test expects each endpoint to need (written apart from auth.py's rules):
    what its route declares, else what its port's paths need."""
    path = endpoint.path
    if endpoint.declared is not None:
        return endpoint.declared
    if path == "/healthz" or (port == "ui" and (path in UI_OPEN or path.startswith("/static/"))):
        return OPEN
    if port in ("ingest", "otlp"):
        reads = path in ("/metrics", "/openapi.json") or path.startswith("/docs")
        return READ if reads else INGEST
    return READ
