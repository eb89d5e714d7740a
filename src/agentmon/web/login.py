"""The web UI's login, logout and first-admin setup pages.

Log in with a user name and password (`agentmon users add`) or with a read (or admin) key;
either buys an HttpOnly, SameSite=Strict session cookie. Forms, not script (the CSP forbids
inline script). State-changing POSTs must come from this origin (the Origin header) and
carry the CSRF token that the page set as a cookie (double submit); failed logins are
limited per client address (the real one, behind a trusted proxy).

While no user and no key exist, `agentmon serve` prints a one-time setup link (random,
single use, expiring): its page creates the first admin and logs them in.
"""

from __future__ import annotations

import asyncio
import functools
import html
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs

from anyio import to_thread
from starlette.types import Receive, Scope, Send

from agentmon.auth import (
    KEY,
    SESSION,
    SESSION_COOKIE,
    Identity,
    KeyRing,
    Sessions,
    TrustedProxies,
    audit_event,
    cookie,
    header,
)
from agentmon.csrf import IDENTITY, same_origin
from agentmon.store.keys import ADMIN, INGEST
from agentmon.store.users import (
    API_KEY_SESSION,
    KEY_SESSION,
    MAX_PASSWORD,
    ROLE_SCOPES,
    USER_SESSION,
    UserProblem,
    add_user,
    check_name,
    check_password_rules,
    hash_password,
    password_matches,
    user_by_name,
)

CSRF_COOKIE = "agentmon_csrf"
MAX_FORM_BYTES = 8192
FAILURES_ALLOWED = 5
FAILURE_WINDOW_S = 60.0
SETUP_LIFETIME_S = 3600.0
HASHES_AT_ONCE = 2  # each scrypt check holds 128 MiB for a few hundred milliseconds
PAGE_TITLES = {"login": "log in", "logout": "log out", "setup": "create the first admin"}
PAGES = frozenset({"/login", "/logout", "/setup"})
T = TypeVar("T")


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


@dataclass
class SetupLink:
    """The one-time link that creates the first admin: random, expiring, single use."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    expires: float = field(default_factory=lambda: time.monotonic() + SETUP_LIFETIME_S)
    used: bool = False

    def accepts(self, token: str) -> bool:
        live = not self.used and time.monotonic() < self.expires
        return live and secrets.compare_digest(token.encode(), self.token.encode())


DECOY_HASH = (
    "scrypt$131072$8$1$klffD9E2akr955uhjIgLpg==$ZA48s12aiBH+ERoxWJ120hCtdh78ijSYzygpRLhkDqU="
)
"""The hash of a random password nobody kept: unknown user names are checked against it, so
they take as long as known ones (and tell nothing about which names exist)."""


class LoginPages:
    """GET/POST /login, /logout and /setup of the web UI."""

    def __init__(
        self,
        keyring: KeyRing,
        sessions: Sessions,
        static_dir: Path,
        headers: list[tuple[bytes, bytes]],
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.keyring = keyring
        self.sessions = sessions
        self.static_dir = static_dir
        # no-referrer makes browsers send `Origin: null` on form POSTs; same-origin keeps the
        # Origin our check needs and still tells other sites nothing
        self.headers = [h for h in headers if h[0] != b"referrer-policy"]
        self.headers.append((b"referrer-policy", b"same-origin"))
        self.limiter = LoginLimiter()
        self.proxies = proxies or TrustedProxies()
        self.setup: SetupLink | None = None
        self._hashing = asyncio.Semaphore(HASHES_AT_ONCE)

    def offer_setup(self) -> SetupLink:
        """A new one-time setup link (`serve` prints it while no credential exists)."""
        self.setup = SetupLink()
        return self.setup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"].strip("/")
        if scope["method"] in ("GET", "HEAD"):
            await self._get(scope, send, name)
            return
        if scope["method"] != "POST":
            await self._reply(send, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD, POST")])
            return
        form = await _form(receive)
        problem = self._forged(scope, form)
        if problem:
            address = self.proxies.client_address(scope)
            audit_event("csrf-refused", path=scope["path"], address=address, why=problem)
            await self._reply(send, 403, f"{problem}\n".encode(), [])
        elif name == "login":
            await self._login(scope, send, form)
        elif name == "setup":
            await self._create_first_admin(scope, send, form)
        else:
            await self._logout(scope, send)

    async def _get(self, scope: Scope, send: Send, name: str) -> None:
        if name == "logout":
            await self._page(scope, send, "logout")
            return
        try:
            configured = await self.keyring.configured()
        except Exception as exc:  # the store is away (still connecting): say so
            await self._page(scope, send, "login", f"Cannot check credentials now: {exc}", 503)
            return
        if name == "login":
            if configured:
                await self._page(scope, send, "login")
            else:
                await self._redirect(send, "/")
            return
        token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        await self._setup_page(scope, send, token, configured)

    def _forged(self, scope: Scope, form: dict[str, str]) -> str | None:
        """Why this POST may not come from our own page, or None."""
        if not same_origin(scope):
            return "this form must be sent from the agentmon page itself (Origin mismatch)"
        expected = cookie(scope, CSRF_COOKIE) or ""
        supplied = form.get("csrf", "")
        if not expected or not secrets.compare_digest(expected.encode(), supplied.encode()):
            return "the form's CSRF token is missing or stale: reload the page"
        return None

    # -- logging in -----------------------------------------------------------------------

    async def _login(self, scope: Scope, send: Send, form: dict[str, str]) -> None:
        address = self.proxies.client_address(scope)
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
        key, user = form.get("key", "").strip(), form.get("user", "").strip()
        try:
            if key:
                refusal, session = await self._by_key(key, address)
            else:
                refusal, session = await self._by_password(user, form.get("password", ""))
        except Exception as exc:  # the store is away: say so, log nobody in
            await self._page(scope, send, "login", f"Cannot check credentials now: {exc}", 503)
            return
        if session is None:
            self.limiter.failed(address)
            audit_event("login-failed", address=address, user=user or None, why=refusal)
            await self._page(scope, send, "login", refusal, status=401)
            return
        await self._logged_in(scope, send, session, address)

    async def _by_key(self, key: str, address: str) -> tuple[str, tuple[str, str, str] | None]:
        """(why not, None) or ("", (kind, principal, who)) for a key."""
        identity = await self.keyring.identify(key, address)
        if identity is not None and identity.via != KEY:
            identity = None  # a session's own token is no key to log in with
        if identity is None or identity.scope == INGEST:
            return ("An ingest key cannot read." if identity else "That key is not valid."), None
        if identity.prefix is not None:
            return "", (KEY_SESSION, identity.prefix, identity.name)
        return "", (API_KEY_SESSION, self.keyring.api_key_tag(), identity.name)

    async def _by_password(
        self, name: str, password: str
    ) -> tuple[str, tuple[str, str, str] | None]:
        wrong = "That user name and password do not match."
        if not name or not password or len(password) > MAX_PASSWORD:
            return wrong, None
        user = await user_by_name(self.keyring.store, name) if self.keyring.store else None
        encoded = user.password_hash if user is not None else DECOY_HASH
        matches = await self._in_thread(functools.partial(password_matches, password, encoded))
        if user is None or not matches or user.role not in ROLE_SCOPES:
            return wrong, None
        return "", (USER_SESSION, user.name, user.name)

    async def _in_thread(self, work: Callable[[], T]) -> T:
        """Hash work off the event loop (a check takes a few hundred milliseconds)."""
        async with self._hashing:
            return await to_thread.run_sync(work)

    async def _logged_in(
        self, scope: Scope, send: Send, session: tuple[str, str, str], address: str
    ) -> None:
        kind, principal, who = session
        api_key = self.keyring.api_key if kind == API_KEY_SESSION else None
        token = await self.sessions.start(kind, principal, api_key)
        audit_event("login", who=who, kind=kind, address=address)
        await self._redirect(send, "/", [_set_cookie(scope, SESSION_COOKIE, token)])

    async def _logout(self, scope: Scope, send: Send) -> None:
        address = self.proxies.client_address(scope)
        try:
            await self.sessions.end(cookie(scope, SESSION_COOKIE))
        except Exception as exc:  # the store is away: the cookie goes; the row expires
            audit_event("logout-not-recorded", address=address, why=str(exc))
        audit_event("logout", address=address)
        await self._redirect(send, "/login", [_set_cookie(scope, SESSION_COOKIE, "", 0)])

    # -- the first admin -----------------------------------------------------------------

    async def _setup_page(
        self, scope: Scope, send: Send, token: str, configured: bool, message: str = ""
    ) -> None:
        if configured:
            await self._page(scope, send, "login", "Setup is done: log in.", status=410)
        elif self.setup is None or not self.setup.accepts(token):
            await self._page(
                scope,
                send,
                "login",
                "This setup link is not valid (used, expired or mistyped): restart "
                "`agentmon serve` for a new one, or run `agentmon users add NAME --role admin`.",
                status=403,
            )
        else:
            values = {"__SETUP_TOKEN__": token}
            await self._page(scope, send, "setup", message, 400 if message else 200, None, values)

    async def _create_first_admin(self, scope: Scope, send: Send, form: dict[str, str]) -> None:
        token, name = form.get("token", ""), form.get("user", "").strip()
        password = form.get("password", "")
        configured = await self.keyring.configured()  # its store answered to print the link
        if configured or self.setup is None or not self.setup.accepts(token):
            await self._setup_page(scope, send, token, configured)
            return
        try:
            check_name(name)
            check_password_rules(password)
            if password != form.get("again", ""):
                raise UserProblem("the two passwords differ")
        except UserProblem as exc:
            await self._setup_page(scope, send, token, False, f"{str(exc).capitalize()}.")
            return
        self.setup.used = True
        encoded = await self._in_thread(functools.partial(hash_password, password))
        await add_user(self.keyring.store, name, ADMIN, encoded)
        self.keyring.forget()
        address = self.proxies.client_address(scope)
        audit_event("user-added", user=name, role=ADMIN, via="setup-link", address=address)
        await self._logged_in(scope, send, (USER_SESSION, name, name), address)

    # -- pages ---------------------------------------------------------------------------

    async def _page(
        self,
        scope: Scope,
        send: Send,
        name: str,
        message: str = "",
        status: int = 200,
        extra: list[tuple[bytes, bytes]] | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        """The login, logout or setup page: the shared page around that form."""
        token = cookie(scope, CSRF_COOKIE) or secrets.token_urlsafe(24)
        form = (self.static_dir / f"{name}-form.html").read_text()
        text = (self.static_dir / "login.html").read_text()
        text = text.replace("__TITLE__", PAGE_TITLES[name]).replace("__FORM__", form)
        body = text.replace("__CSRF__", token).replace("__MESSAGE__", html.escape(message))
        for placeholder, value in (values or {}).items():
            body = body.replace(placeholder, html.escape(value))
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


def logged_in_identity(scope: Scope) -> Identity | None:
    """Who the Guard let through with a session cookie (None without one)."""
    identity = scope.get(IDENTITY)
    return identity if isinstance(identity, Identity) and identity.via == SESSION else None


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
