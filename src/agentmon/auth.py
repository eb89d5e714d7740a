"""Who may do what, on every port: one ASGI middleware (`Guard`) in front of every app.

Credentials: `AGENTMON_API_KEY` (full access, as it always meant) and the keys in the store
(`agentmon keys create NAME --scope ingest|read|admin`), sent as `Authorization: Bearer …`;
on the web UI also the session cookie its login page sets. Each port's `Rule` says which
scope a path needs (None: open, as /healthz is). While no credential exists at all (no API
key, no key in the store) every path is open as before: the read listeners then bind to
loopback only (see runtime.py), so the data stays on the machine.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from agentmon.csrf import CREDENTIAL, IDENTITY
from agentmon.store.keys import (
    ADMIN,
    INGEST,
    READ,
    StoredKey,
    digest_of,
    key_by_prefix,
    key_count,
    mark_used,
    prefix_of,
)

if TYPE_CHECKING:  # the producer install (no starlette) imports this for audit_event
    from starlette.types import ASGIApp, Receive, Scope, Send

audit = logging.getLogger("agentmon.audit")

Rule = Callable[[str], str | None]  # path → the scope it needs, None when open
SESSION_COOKIE = "agentmon_session"
CACHE_TTL_S = 5.0
LAST_USED_EVERY_S = 60.0
MAX_REMEMBERED_ADDRESSES = 10_000


@dataclass(frozen=True)
class Identity:
    name: str
    scope: str
    prefix: str | None = None


def allows(have: str, need: str) -> bool:
    return have in (ADMIN, need)


class CredentialsUnavailable(RuntimeError):
    """The store holding the keys does not answer: nothing but the API key is accepted."""


@dataclass
class KeyRing:
    """The API key and the store's keys, looked up through a short cache so that a revoked
    key stops working within CACHE_TTL_S without a query per request."""

    api_key: str | None
    store: Any = None  # a Store, or None where keys live nowhere (the API key only)
    store_open: bool = True
    ttl_s: float = CACHE_TTL_S
    _count: tuple[int, float] | None = None
    _by_prefix: dict[str, tuple[StoredKey | None, float]] = field(default_factory=dict)
    _used: dict[str, float] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def configured(self) -> bool:
        """Whether any credential exists (then every guarded path needs one)."""
        if self.api_key:
            return True
        return await self._stored_count() > 0

    async def _stored_count(self) -> int:
        if self.store is None:
            return 0
        now = time.monotonic()
        if self._count is None or now - self._count[1] > self.ttl_s:
            self._count = (await key_count(self._open_store()), now)
        return self._count[0]

    def _open_store(self) -> Any:
        if not self.store_open:
            raise CredentialsUnavailable("waiting for the database to check keys")
        return self.store

    async def identify(self, token: str, address: str = "") -> Identity | None:
        """The identity `token` proves, or None."""
        if self.api_key and hmac.compare_digest(token.encode(), self.api_key.encode()):
            return Identity("AGENTMON_API_KEY", ADMIN)
        prefix = prefix_of(token)
        if prefix is None or self.store is None:
            return None
        stored = await self._lookup(prefix)
        if stored is None or not hmac.compare_digest(digest_of(token), stored.digest):
            return None
        self._note_use(stored, address)
        return Identity(stored.name, stored.scope, stored.prefix)

    async def _lookup(self, prefix: str) -> StoredKey | None:
        now = time.monotonic()
        cached = self._by_prefix.get(prefix)
        if cached is None or now - cached[1] > self.ttl_s:
            if len(self._by_prefix) > MAX_REMEMBERED_ADDRESSES:
                self._by_prefix.clear()
            cached = (await key_by_prefix(self._open_store(), prefix), now)
            self._by_prefix[prefix] = cached
        return cached[0]

    def _note_use(self, key: StoredKey, address: str) -> None:
        if (key.prefix, address) not in self._seen:
            if len(self._seen) > MAX_REMEMBERED_ADDRESSES:
                self._seen.clear()
            self._seen.add((key.prefix, address))
            audit_event(
                "key-use-from-new-address", key=key.name, prefix=key.prefix, address=address
            )
        now = time.monotonic()
        if now - self._used.get(key.prefix, -LAST_USED_EVERY_S) >= LAST_USED_EVERY_S:
            self._used[key.prefix] = now
            task = asyncio.get_running_loop().create_task(self._mark_used(key.prefix))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _mark_used(self, prefix: str) -> None:
        try:
            await mark_used(self.store, prefix)
        except Exception as exc:  # the store being away must not fail the request
            logging.getLogger("agentmon").warning("cannot record a key's last use: %s", exc)


def audit_event(what: str, **details: Any) -> None:
    """One structured audit line (the JSON log format keeps the fields apart)."""
    # the event names the template: the log's repeat filter then limits each kind apart
    audit.info(f"{what} %s", msgspec.json.encode(details).decode(), extra={"audit": details})


# ---------------------------------------------------------------------------------------
# Which scope each port's paths need


def ingest_rule(metrics_open: bool) -> Rule:
    """Ingest gateway and OTLP: writing needs ingest; their documents and metrics read."""

    def rule(path: str) -> str | None:
        if path == "/healthz":
            return None
        if path == "/metrics":
            return None if metrics_open else READ
        if path == "/openapi.json" or path.startswith("/docs"):
            return READ
        return INGEST

    return rule


def read_rule(metrics_open: bool) -> Rule:
    """Query API and the processor's port: everything reads."""

    def rule(path: str) -> str | None:
        if path == "/healthz" or (path == "/metrics" and metrics_open):
            return None
        return READ

    return rule


WEB_OPEN_PATHS = frozenset({"/healthz", "/login", "/logout"})


def web_rule(path: str) -> str | None:
    """The web UI: its login page and packaged assets (code, no data) are open."""
    if path in WEB_OPEN_PATHS or path.startswith("/static/"):
        return None
    return READ


# ---------------------------------------------------------------------------------------
# The middleware


class Guard:
    """Let a request through when its credential has the scope its path needs."""

    def __init__(
        self,
        app: ASGIApp,
        keyring: KeyRing,
        rule: Rule,
        sessions: Sessions | None = None,
        is_page: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.rule = rule
        self.sessions = sessions
        self.is_page = is_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        need = self.rule(scope["path"]) if scope["type"] in ("http", "websocket") else None
        if need is None:
            await self.app(scope, receive, send)
            return
        try:
            if not await self.keyring.configured():
                await self.app(scope, receive, send)
                return
            identity, token = await self._identify(scope)
        except Exception as exc:  # the key store is away: fail closed, say so
            await _refuse(scope, send, 503, f"cannot check credentials: {exc}")
            return
        if identity is None:
            if scope["type"] == "http" and self.is_page and self.is_page(scope["path"]):
                await _redirect(send, "/login")
                return
            await _refuse(scope, send, 401, "missing or wrong key (Authorization: Bearer <key>)")
            return
        if not allows(identity.scope, need):
            await _refuse(
                scope,
                send,
                403,
                f"key {identity.name!r} ({identity.scope}) "
                f"cannot do this: it needs a {need} or admin key",
            )
            return
        # who acted and how they proved it, for changes (agentmon.csrf) and their records
        proof = "bearer" if bearer_token(scope) is not None else "cookie"
        marked = {**_with_bearer(scope, token), CREDENTIAL: proof, IDENTITY: identity.name}
        await self.app(marked, receive, send)

    async def _identify(self, scope: Scope) -> tuple[Identity | None, str]:
        address = str((scope.get("client") or ("",))[0])
        token = bearer_token(scope)
        if token is None and self.sessions is not None:
            token = self.sessions.key_of(cookie(scope, SESSION_COOKIE))
        if token is None:
            return None, ""
        return await self.keyring.identify(token, address), token


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value)
    return None


def bearer_token(scope: Scope) -> str | None:
    raw = header(scope, b"authorization")
    if raw is None or raw[:7].lower() != b"bearer ":
        return None
    return raw[7:].decode("latin-1").strip() or None


def cookie(scope: Scope, name: str) -> str | None:
    raw = header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin-1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _with_bearer(scope: Scope, token: str) -> Scope:
    """The request as the app sees it: the proven credential as its bearer header (what
    the web UI's proxy forwards), the session cookie kept away from what it calls."""
    if not token:
        return scope
    dropped = (b"authorization", b"cookie")
    kept = [(k, v) for k, v in scope.get("headers") or [] if k.lower() not in dropped]
    return {**scope, "headers": [*kept, (b"authorization", f"Bearer {token}".encode())]}


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    body = msgspec.json.encode({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if scope["type"] == "websocket":
        if "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 4000 + status, "reason": message[:120]})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"content-length", b"0"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


# ---------------------------------------------------------------------------------------
# Web UI sessions


SESSION_LIFETIME_S = 12 * 3600.0


@dataclass
class Sessions:
    """Logged-in browsers: a random token (the cookie) → the key it logged in with, kept in
    memory only, so a restart logs everybody out and the key never reaches the browser."""

    lifetime_s: float = SESSION_LIFETIME_S
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict)

    def start(self, key: str) -> str:
        self._expire()
        token = secrets.token_urlsafe(32)
        self._sessions[token] = (key, time.monotonic() + self.lifetime_s)
        return token

    def key_of(self, token: str | None) -> str | None:
        entry = self._sessions.get(token or "")
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def end(self, token: str | None) -> None:
        self._sessions.pop(token or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, (_, until) in self._sessions.items() if until < now]:
            del self._sessions[token]


class BearerAuth(Guard):
    """The ingest apps' own check when built alone (tests, embedding): the API key only."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        super().__init__(app, KeyRing(api_key), ingest_rule(metrics_open=True))
