"""The web UI server: the single-page app, its assets, and a gateway to the query API.

``create_web_app`` returns a plain ASGI application that

* serves ``static/index.html`` for every path that is neither an asset nor an API path, so
  deep links (``/sessions/<id>``) and reloads work with the SPA's history routing;
* serves the files under ``static/`` at ``/static/...`` (no Node.js, no build step: the
  vendored libraries ship inside the package);
* forwards ``/v1/*``, ``/healthz``, ``/openapi.json`` and ``/docs`` to the query API, either
  in-process (``query_app``: the ASGI scope is handed over unchanged, HTTP and WebSocket) or
  as a reverse proxy to ``query_base`` (httpx streaming for HTTP, the ``websockets`` client
  for WebSocket).

UI responses carry a strict Content-Security-Policy (no inline script, no eval).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from agentmon.csrf import SAFE_METHODS, forged_change

log = logging.getLogger("agentmon.web")

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"

API_PREFIXES = ("/v1/", "/docs/static/")
API_PATHS = frozenset({"/v1", "/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)

# Headers that describe one hop of a connection and must not be forwarded by a proxy.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
WS_HANDSHAKE_HEADERS = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)


LOGIN_PATHS = frozenset({"/login", "/logout", "/setup"})
LOGOUT_LINK = b'  <a class="logout-link" href="/logout">Log out</a>\n'


def is_api_path(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PREFIXES)


# JavaScript modules must be served with a JavaScript type whatever the host's mime.types says
mimetypes.add_type("text/javascript", ".js")


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """`send`, adding `extra` headers to the response start."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sender


async def _send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    head_only: bool = False,
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})


def _logged_in(scope: Scope) -> bool:
    from agentmon.web.login import logged_in_identity

    return logged_in_identity(scope) is not None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


class WebApp:
    """The ASGI application ``create_web_app`` returns."""

    def __init__(
        self,
        query_base: str | None,
        query_app: ASGIApp | None,
        *,
        static_dir: Path = STATIC_DIR,
        forward_lifespan: bool = False,
        login: ASGIApp | None = None,
    ) -> None:
        if query_app is None and not query_base:
            raise ValueError("the web UI needs a query API: pass query_app or query_base")
        self.query_app = query_app
        self.query_base = (query_base or "").rstrip("/")
        self.assets = StaticFiles(directory=static_dir)
        self.index = static_dir / "index.html"
        self.forward_lifespan = forward_lifespan
        self._client: httpx.AsyncClient | None = None
        self.login = login

    # -- ASGI entry point -------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        path: str = scope.get("path", "/")
        if is_api_path(path):
            problem = forged_change(scope) if kind == "http" else None
            if problem:
                body = json.dumps({"error": problem}).encode()
                await _send_bytes(send, 403, body, [(b"content-type", b"application/json")])
                return
            if self.query_app is not None:
                await self.query_app(scope, receive, send)
            elif kind == "websocket":
                await self._proxy_websocket(scope, receive, send)
            else:
                await self._proxy_http(scope, receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if kind == "http" and path in LOGIN_PATHS and self.login is not None:
            await self.login(scope, receive, send)
            return
        if kind == "http":
            await self._serve_ui(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.forward_lifespan and self.query_app is not None:
            await self.query_app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the UI -----------------------------------------------------------------------

    async def _serve_ui(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Assets under /static/ (with ETags); every other path is a route of the
        single-page app and gets index.html, so deep links and reloads work."""
        method = scope.get("method", "GET")
        path: str = scope.get("path", "/")
        if method not in ("GET", "HEAD"):
            headers = [*SECURITY_HEADERS, (b"allow", b"GET, HEAD")]
            await _send_bytes(send, 405, b"method not allowed\n", headers)
            return
        if path.startswith(STATIC_PREFIX):
            asset = {**scope, "path": path[len(STATIC_PREFIX) - 1 :], "root_path": ""}
            extra = [*SECURITY_HEADERS, (b"cache-control", b"no-cache")]
            try:
                await self.assets(asset, receive, _with_headers(send, extra))
            except HTTPException as exc:  # missing, or outside the static directory
                headers = [*SECURITY_HEADERS, (b"content-type", b"text/plain; charset=utf-8")]
                await _send_bytes(send, exc.status_code, b"not found\n", headers)
            return
        if not self.index.is_file():
            raise RuntimeError(f"the web UI is not installed: no index.html in {self.index.parent}")
        if _logged_in(scope):
            page = FileResponse(self.index, headers={"cache-control": "no-store"})
            await page(scope, receive, _with_headers(send, list(SECURITY_HEADERS)))
            return
        # the log-out link only where there is a session to end
        body = self.index.read_bytes().replace(LOGOUT_LINK, b"")
        headers = [*SECURITY_HEADERS, (b"content-type", b"text/html; charset=utf-8")]
        headers.append((b"cache-control", b"no-store"))
        await _send_bytes(send, 200, body, headers, head_only=method == "HEAD")

    # -- reverse proxy (query_base) ----------------------------------------------------

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.query_base,
                timeout=httpx.Timeout(30.0, connect=5.0),
                follow_redirects=False,
            )
        return self._client

    @staticmethod
    def _forward_headers(scope: Scope, drop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for raw_key, raw_value in scope.get("headers", []):
            key = raw_key.decode("latin-1").lower()
            if key in HOP_BY_HOP or key in drop:
                continue
            out.append((key, raw_value.decode("latin-1")))
        client = scope.get("client")
        if client:
            out.append(("x-forwarded-for", str(client[0])))
        return out

    @staticmethod
    def _target(scope: Scope) -> str:
        path: str = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query: bytes = scope.get("query_string", b"")
        return path + ("?" + query.decode("latin-1") if query else "")

    async def _proxy_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def body() -> AsyncIterator[bytes]:
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        has_body = (
            _header(scope, b"content-length") not in (None, b"0")
            or _header(scope, b"transfer-encoding") is not None
        )
        safe = scope["method"] in SAFE_METHODS
        client = self._http_client()
        request = client.build_request(
            scope["method"],
            self._target(scope),
            # a change's Origin was checked above; the query API's host is not the page's
            headers=self._forward_headers(scope, frozenset() if safe else frozenset({"origin"})),
            content=body() if has_body else None,
        )
        try:
            upstream = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("query API unreachable at %s: %s", self.query_base, exc)
            await _send_bytes(
                send,
                502,
                b'{"error": "the query API is unreachable"}',
                [(b"content-type", b"application/json")],
            )
            return
        try:
            headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in upstream.headers.multi_items()
                if k.lower() not in HOP_BY_HOP
            ]
            await send(
                {"type": "http.response.start", "status": upstream.status_code, "headers": headers}
            )
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await upstream.aclose()

    async def _proxy_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        base = self.query_base
        ws_base = "ws" + base[4:] if base.startswith("http") else base
        url = ws_base + self._target(scope)
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        headers = [
            (k, v)
            for k, v in self._forward_headers(scope, drop=WS_HANDSHAKE_HEADERS)
            if k not in ("origin", "cookie")
        ]
        try:
            upstream = await websockets.connect(
                url, additional_headers=headers, open_timeout=5, max_size=None
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
            log.warning("query API WebSocket unreachable at %s: %s", url, exc)
            # Closing before accepting answers the handshake with 403; 1011 is for after.
            await send({"type": "websocket.close", "code": 1008 if status else 1011})
            return
        await send({"type": "websocket.accept"})
        async with upstream:
            await self._pump(upstream, receive, send)

    @staticmethod
    async def _pump(upstream: ClientConnection, receive: Receive, send: Send) -> None:
        async def client_to_upstream() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    await upstream.send(message["text"])
                elif message.get("bytes") is not None:
                    await upstream.send(message["bytes"])

        async def upstream_to_client() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for data in upstream:
                    if isinstance(data, str):
                        await send({"type": "websocket.send", "text": data})
                    else:
                        await send({"type": "websocket.send", "bytes": data})
            code = upstream.close_code or 1000
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": code})

        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(client_to_upstream()),
            asyncio.create_task(upstream_to_client()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                # Either side may have ended with its peer's disconnection: nothing to report.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def create_web_app(
    query_base: str | None,
    query_app: ASGIApp | None = None,
    *,
    forward_lifespan: bool = False,
    login: ASGIApp | None = None,
) -> ASGIApp:
    """The web UI as an ASGI app.

    ``query_app``: the query API's ASGI app, called in-process with the unchanged scope for
    API paths (``agentmon serve``). Otherwise ``query_base`` (``AGENTMON_QUERY_BASE``, e.g.
    ``http://127.0.0.1:8081``) is where API requests and the WebSocket are proxied to.
    ``forward_lifespan``: also hand ASGI lifespan events to ``query_app`` (only when nothing
    else runs that app's startup and shutdown).
    ``login``: what answers /login and /logout (``web.login.LoginPages``) when the UI is
    guarded by keys (runtime.py wraps the app in ``auth.Guard``).
    """
    return WebApp(query_base, query_app, forward_lifespan=forward_lifespan, login=login)
