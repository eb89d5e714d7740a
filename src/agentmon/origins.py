"""WebSocket handshakes from browsers must come from an allowed origin.

Browsers do not apply the same-origin policy to WebSockets: any page could open the live feed
or send events with the visitor's network position. A handshake whose `Origin` is neither
the server's own (same scheme-less host and port as the `Host` header) nor one of
AGENTMON_ALLOWED_ORIGINS is answered 403 with a sentence naming the setting. A handshake
without `Origin` comes from a program, not a page, and is let through (the API key, when
set, still applies).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send


def parse_origins(text: str) -> frozenset[str]:
    """'https://a.example, http://b:8082' → normalised origins."""
    return frozenset(_normalise(part) for part in text.split(",") if part.strip())


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class OriginCheck:
    """ASGI middleware: refuse WebSocket handshakes from origins that are not allowed."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(_normalise(origin) for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = _header(scope, b"origin")
            if origin is not None and not self.permits(origin, _header(scope, b"host")):
                await self._refuse(origin, send)
                return
        await self.app(scope, receive, send)

    def permits(self, origin: str, host: str | None) -> bool:
        normalised = _normalise(origin)
        if normalised in self.allowed:
            return True
        parts = urlsplit(normalised)
        return (
            host is not None and parts.scheme in ("http", "https") and parts.netloc == host.lower()
        )

    @staticmethod
    async def _refuse(origin: str, send: Send) -> None:
        reason = (
            f"WebSocket from origin {origin!r} refused: not this server's own origin; "
            "allow it with AGENTMON_ALLOWED_ORIGINS"
        )
        body = msgspec.json.encode({"error": reason})
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
