"""The web UI's login and logout: a read (or admin) key buys an HttpOnly session cookie.

Forms, not script (the CSP forbids inline script). State-changing POSTs must come from this
origin (the Origin header) and carry the CSRF token that the page set as a cookie
(double submit); failed logins are limited per client address.
"""

from __future__ import annotations

import html
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from agentmon.auth import SESSION_COOKIE, KeyRing, Sessions, audit_event, cookie, header
from agentmon.store.keys import INGEST

CSRF_COOKIE = "agentmon_csrf"
MAX_FORM_BYTES = 8192
FAILURES_ALLOWED = 5
FAILURE_WINDOW_S = 60.0
PAGE_TITLES = {"login": "log in", "logout": "log out"}


@dataclass
class LoginLimiter:
    """At most FAILURES_ALLOWED failed logins per address within FAILURE_WINDOW_S."""

    allowed: int = FAILURES_ALLOWED
    window_s: float = FAILURE_WINDOW_S
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may try again; 0 when it may now."""
        recent = self._recent(address)
        if len(recent) < self.allowed:
            return 0
        return max(1, round(recent[0] + self.window_s - time.monotonic()))

    def failed(self, address: str) -> None:
        if len(self._failures) > 10_000:
            self._failures.clear()
        self._recent(address).append(time.monotonic())

    def _recent(self, address: str) -> deque[float]:
        recent = self._failures.setdefault(address, deque())
        while recent and recent[0] < time.monotonic() - self.window_s:
            recent.popleft()
        return recent


class LoginPages:
    """GET/POST /login and /logout of the web UI."""

    def __init__(
        self,
        keyring: KeyRing,
        sessions: Sessions,
        static_dir: Path,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.keyring = keyring
        self.sessions = sessions
        self.static_dir = static_dir
        # no-referrer makes browsers send `Origin: null` on form POSTs; same-origin keeps the
        # Origin our check needs and still tells other sites nothing
        self.headers = [h for h in headers if h[0] != b"referrer-policy"]
        self.headers.append((b"referrer-policy", b"same-origin"))
        self.limiter = LoginLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        login = scope["path"] == "/login"
        if scope["method"] in ("GET", "HEAD"):
            if login and not await self.keyring.configured():
                await self._redirect(send, "/")
                return
            await self._page(scope, send, "login" if login else "logout")
            return
        if scope["method"] != "POST":
            await self._reply(send, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD, POST")])
            return
        form = await _form(receive)
        problem = self._forged(scope, form)
        if problem:
            audit_event("csrf-refused", path=scope["path"], address=_address(scope), why=problem)
            await self._reply(send, 403, f"{problem}\n".encode(), [])
        elif login:
            await self._login(scope, send, form.get("key", ""))
        else:
            await self._logout(scope, send)

    def _forged(self, scope: Scope, form: dict[str, str]) -> str | None:
        """Why this POST may not come from our own page, or None."""
        origin = (header(scope, b"origin") or b"").decode("latin-1")
        host = (header(scope, b"host") or b"").decode("latin-1")
        if not origin or origin.split("://", 1)[-1] != host:
            return "this form must be sent from the agentmon page itself (Origin mismatch)"
        expected = cookie(scope, CSRF_COOKIE) or ""
        supplied = form.get("csrf", "")
        if not expected or not secrets.compare_digest(expected.encode(), supplied.encode()):
            return "the form's CSRF token is missing or stale: reload the page"
        return None

    async def _login(self, scope: Scope, send: Send, key: str) -> None:
        address = _address(scope)
        wait = self.limiter.retry_after(address)
        if wait:
            audit_event("login-throttled", address=address)
            await self._page(
                scope,
                send,
                "login",
                f"Too many attempts: wait {wait} s.",
                status=429,
                extra=[(b"retry-after", str(wait).encode())],
            )
            return
        try:
            identity = await self.keyring.identify(key.strip(), address) if key.strip() else None
        except Exception as exc:  # the key store is away: say so, log nobody in
            await self._page(scope, send, "login", f"Cannot check keys now: {exc}", status=503)
            return
        if identity is None or identity.scope == INGEST:
            self.limiter.failed(address)
            audit_event(
                "login-failed",
                address=address,
                why="ingest-only key" if identity else "unknown key",
            )
            message = "An ingest key cannot read." if identity else "That key is not valid."
            await self._page(scope, send, "login", message, status=401)
            return
        token = self.sessions.start(key.strip())
        audit_event("login", key=identity.name, scope=identity.scope, address=address)
        await self._redirect(send, "/", [_set_cookie(scope, SESSION_COOKIE, token)])

    async def _logout(self, scope: Scope, send: Send) -> None:
        self.sessions.end(cookie(scope, SESSION_COOKIE))
        audit_event("logout", address=_address(scope))
        await self._redirect(send, "/login", [_set_cookie(scope, SESSION_COOKIE, "", 0)])

    async def _page(
        self,
        scope: Scope,
        send: Send,
        name: str,
        message: str = "",
        status: int = 200,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """The login or logout page: the shared page around that form."""
        token = cookie(scope, CSRF_COOKIE) or secrets.token_urlsafe(24)
        form = (self.static_dir / f"{name}-form.html").read_text()
        text = (self.static_dir / "login.html").read_text()
        text = text.replace("__TITLE__", PAGE_TITLES[name]).replace("__FORM__", form)
        body = text.replace("__CSRF__", token).replace("__MESSAGE__", html.escape(message))
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-store"),
            _set_cookie(scope, CSRF_COOKIE, token),
            *(extra or []),
        ]
        await self._reply(send, status, body.encode(), headers)

    async def _redirect(
        self, send: Send, location: str, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        await self._reply(send, 303, b"", [(b"location", location.encode()), *(extra or [])])

    async def _reply(
        self, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        headers = [*self.headers, *headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _address(scope: Scope) -> str:
    return str((scope.get("client") or ("",))[0])


def _set_cookie(
    scope: Scope, name: str, value: str, max_age: int | None = None
) -> tuple[bytes, bytes]:
    """HttpOnly, SameSite=Strict, and Secure when the page came over https (directly, or
    through a TLS-terminating proxy that says so)."""
    https = scope.get("scheme") == "https" or header(scope, b"x-forwarded-proto") == b"https"
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if https:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return (b"set-cookie", "; ".join(parts).encode())


async def _form(receive: Receive) -> dict[str, str]:
    """The url-encoded form of the request, at most MAX_FORM_BYTES of it."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES or not message.get("more_body", False):
            break
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    return {name: values[0] for name, values in fields.items()}
