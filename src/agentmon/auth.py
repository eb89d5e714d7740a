"""Who may do what, on every port: one ASGI middleware (`Guard`) in front of every app.

Credentials: `AGENTMON_API_KEY` (full access, as it always meant) and the keys in the store
(`agentmon keys create NAME --scope ingest|read|admin`), sent as `Authorization: Bearer …`;
on the web UI also the session cookie its login page sets (a user's password or a key buys
one), or the user a trusted reverse proxy names (AGENTMON_TRUSTED_USER_HEADER, honoured only
from AGENTMON_TRUSTED_PROXIES). Each port's `Rule` says which scope a path needs (None:
open, as /healthz is); a route may ask for more with `openapi_extra=needs(ADMIN)`. While
no credential exists at all (no API key, no key, no user in the store) every path is open
as before: the read listeners then bind to loopback only (see runtime.py), so the data
stays on the machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from agentmon.csrf import CREDENTIAL, IDENTITY, same_origin
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
from agentmon.store.users import (
    API_KEY_SESSION,
    ROLE_SCOPES,
    end_session,
    is_session_token,
    session_of,
    start_session,
    user_by_name,
    user_count,
)

if TYPE_CHECKING:  # the producer install (no starlette) imports this for audit_event
    from starlette.types import ASGIApp, Receive, Scope, Send

audit = logging.getLogger("agentmon.audit")

Rule = Callable[[str], str | None]  # path → the scope it needs, None when open
SESSION_COOKIE = "agentmon_session"
CACHE_TTL_S = 5.0
LAST_USED_EVERY_S = 60.0
MAX_REMEMBERED_ADDRESSES = 10_000


SESSION, PROXY, KEY = "session", "proxy", "key"
SESSION_TOKEN = "session-token"  # an `ams_…` session token sent as a bearer (by the UI's proxy)
SCOPE_EXTENSION = "x-agentmon-scope"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Identity:
    name: str
    scope: str
    prefix: str | None = None
    via: str = KEY  # or SESSION (the UI's cookie), SESSION_TOKEN, PROXY (a proxy's header)


def needs(scope: str) -> dict[str, Any]:
    """`openapi_extra` for a route that needs more than its port's scope (e.g. ADMIN); the
    Guard reads it from the app's routes, and the OpenAPI document shows it."""
    return {SCOPE_EXTENSION: scope}


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
    _ever_configured: bool = False
    _by_prefix: dict[str, tuple[StoredKey | None, float]] = field(default_factory=dict)
    _by_session: dict[str, tuple[Identity | None, float]] = field(default_factory=dict)
    _user_scopes: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    _used: dict[str, float] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def configured(self) -> bool:
        """Whether any credential exists (then every guarded path needs one). Once one has,
        it stays so for the life of the process: removing the last user or key must not
        open a port that was bound beyond loopback because credentials existed."""
        if self.api_key or self._ever_configured:
            return True
        self._ever_configured = await self._stored_count() > 0
        return self._ever_configured

    async def _stored_count(self) -> int:
        if self.store is None:
            return 0
        now = time.monotonic()
        if self._count is None or now - self._count[1] > self.ttl_s:
            store = self._open_store()
            self._count = (await key_count(store) + await user_count(store), now)
        return self._count[0]

    def forget(self) -> None:
        """Drop what is cached (after this process added a user, a key or a session)."""
        self._count = None
        self._by_session.clear()
        self._user_scopes.clear()

    def _open_store(self) -> Any:
        if not self.store_open:
            raise CredentialsUnavailable("waiting for the database to check keys")
        return self.store

    async def identify(self, token: str, address: str = "") -> Identity | None:
        """The identity `token` proves, or None."""
        if self.api_key and hmac.compare_digest(token.encode(), self.api_key.encode()):
            return Identity("AGENTMON_API_KEY", ADMIN)
        if is_session_token(token) and self.store is not None:
            return await self._session(token)
        prefix = prefix_of(token)
        if prefix is None or self.store is None:
            return None
        stored = await self._lookup(prefix)
        if stored is None or not hmac.compare_digest(digest_of(token), stored.digest):
            return None
        self._note_use(stored, address)
        return Identity(stored.name, stored.scope, stored.prefix)

    async def _session(self, token: str) -> Identity | None:
        digest = digest_of(token)
        now = time.monotonic()
        cached = self._by_session.get(digest)
        if cached is None or now - cached[1] > self.ttl_s:
            if len(self._by_session) > MAX_REMEMBERED_ADDRESSES:
                self._by_session.clear()
            cached = (await self._stored_session(token), now)
            self._by_session[digest] = cached
        return cached[0]

    async def _stored_session(self, token: str) -> Identity | None:
        found = await session_of(self._open_store(), token)
        if found is None:
            return None
        api_key_gone = not self.api_key or found.principal != self.api_key_tag()
        if found.kind == API_KEY_SESSION and api_key_gone:
            return None  # logged in with an API key this service does not have (any more)
        return Identity(found.principal, found.scope, via=SESSION_TOKEN)

    def api_key_tag(self) -> str:
        """What an API-key session records instead of the key: a short digest of it."""
        return hashlib.sha256((self.api_key or "").encode()).hexdigest()[:16]

    async def start_session(self, kind: str, principal: str, lifetime_s: float) -> str:
        token = await start_session(self._open_store(), kind, principal, lifetime_s)
        self._by_session.pop(digest_of(token), None)
        return token

    async def end_session(self, token: str) -> None:
        if is_session_token(token):
            await end_session(self._open_store(), token)
        self._by_session.pop(digest_of(token), None)

    async def user_scope(self, name: str) -> str | None:
        """The scope of the user of that name (from their role), None for no such user."""
        if self.store is None:
            return None
        now = time.monotonic()
        cached = self._user_scopes.get(name)
        if cached is None or now - cached[1] > self.ttl_s:
            if len(self._user_scopes) > MAX_REMEMBERED_ADDRESSES:
                self._user_scopes.clear()
            user = await user_by_name(self._open_store(), name)
            cached = (None if user is None else ROLE_SCOPES.get(user.role), now)
            self._user_scopes[name] = cached
        return cached[0]

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


WEB_OPEN_PATHS = frozenset({"/healthz", "/login", "/logout", "/setup"})


def web_rule(path: str) -> str | None:
    """The web UI: its login page and packaged assets (code, no data) are open."""
    if path in WEB_OPEN_PATHS or path.startswith("/static/"):
        return None
    return READ


# ---------------------------------------------------------------------------------------
# The middleware


class TrustedProxies:
    """The reverse proxies (AGENTMON_TRUSTED_PROXIES) whose word is taken: the client
    address they put in X-Forwarded-For, and the user they name in the user header. From
    anyone else both headers are ignored, and the user header is removed from the request."""

    def __init__(self, networks: str = "", user_header: str = "", default_role: str = "") -> None:
        parts = [part.strip() for part in networks.split(",") if part.strip()]
        self.networks = [ipaddress.ip_network(part, strict=False) for part in parts]
        self.user_header = user_header.lower().encode()
        self.default_scope = ROLE_SCOPES.get(default_role)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, scope: Scope) -> str:
        """The real client: the peer, or behind trusted proxies the nearest address in
        X-Forwarded-For that is not itself a trusted proxy."""
        peer = str((scope.get("client") or ("",))[0])
        if not self.trusts(peer):
            return peer
        forwarded = (header(scope, b"x-forwarded-for") or b"").decode("latin-1")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if not self.trusts(hop):
                return hop
        return peer

    def user_of(self, scope: Scope) -> str | None:
        """The user a trusted proxy names, None when there is none or the peer is not one."""
        if not self.user_header:
            return None
        peer = str((scope.get("client") or ("",))[0])
        value = header(scope, self.user_header)
        if value is None or not self.trusts(peer):
            return None
        name = value.decode("latin-1").strip()
        return name if USER_NAME.fullmatch(name) else None

    def without_user_header(self, scope: Scope) -> Scope:
        if not self.user_header or header(scope, self.user_header) is None:
            return scope
        kept = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != self.user_header]
        return {**scope, "headers": kept}


USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")


class Guard:
    """Let a request through when its credential has the scope its path (and its route's
    declaration) needs; the identity goes on in the ASGI scope under IDENTITY."""

    def __init__(
        self,
        app: ASGIApp,
        keyring: KeyRing,
        rule: Rule,
        sessions: Sessions | None = None,
        is_page: Callable[[str], bool] | None = None,
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.rule = rule
        self.sessions = sessions
        self.is_page = is_page
        self.proxies = proxies or TrustedProxies()
        self.declared = declared_scopes(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        need = self._need(scope)
        if need is None:
            await self.app(self._passed(scope, None, ""), receive, send)
            return
        try:
            if not await self.keyring.configured():
                await self.app(self._passed(scope, None, ""), receive, send)
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
        problem = self._forbidden(scope, identity, need)
        if problem:
            await _refuse(scope, send, 403, problem)
            return
        await self.app(self._passed(scope, identity, token), receive, send)

    def _need(self, scope: Scope) -> str | None:
        need = self.rule(scope["path"])
        if need is not None and self.declared(scope) == ADMIN:
            return ADMIN
        return need

    def _forbidden(self, scope: Scope, identity: Identity, need: str) -> str | None:
        if not allows(identity.scope, need):
            return (
                f"{identity.name!r} ({identity.scope}) cannot do this: "
                f"it needs a {need} or admin key"
            )
        cookie_change = identity.via == SESSION and scope.get("method") in UNSAFE_METHODS
        if cookie_change and not same_origin(scope):
            address = self.proxies.client_address(scope)
            audit_event("csrf-refused", path=scope["path"], address=address)
            return "a logged-in change must come from the agentmon page itself (Origin)"
        return None

    def _passed(self, scope: Scope, identity: Identity | None, token: str) -> Scope:
        """The request as the app sees it: who is asking, the proven credential as its
        bearer header (what the web UI's proxy forwards), the session cookie kept away from
        what it calls, and a user header only when it came from a trusted proxy."""
        if identity is None or identity.via != PROXY:
            scope = self.proxies.without_user_header(scope)
        # how it proved itself, for agentmon.csrf: a bearer key no other site's page can send
        proof = (
            "bearer" if identity is not None and identity.via in (KEY, SESSION_TOKEN) else "cookie"
        )
        scope = {**scope, IDENTITY: identity, CREDENTIAL: proof}
        if not token:
            return scope
        dropped = (b"authorization", b"cookie")
        kept = [(k, v) for k, v in scope.get("headers") or [] if k.lower() not in dropped]
        return {**scope, "headers": [*kept, (b"authorization", f"Bearer {token}".encode())]}

    async def _identify(self, scope: Scope) -> tuple[Identity | None, str]:
        address = self.proxies.client_address(scope)
        token = bearer_token(scope)
        if token is None and self.sessions is not None:
            token = self.sessions.bearer_of(cookie(scope, SESSION_COOKIE))
        if token is not None:
            identity = await self.keyring.identify(token, address)
            if identity is not None and self.sessions is not None and bearer_token(scope) is None:
                identity = Identity(identity.name, identity.scope, identity.prefix, SESSION)
            return identity, token
        user = self.proxies.user_of(scope)
        if user is None:
            return None, ""
        return await self._proxied(user, address), ""

    async def _proxied(self, user: str, address: str) -> Identity | None:
        scope = await self.keyring.user_scope(user) or self.proxies.default_scope
        if scope is None:
            audit_event("proxy-user-refused", user=user, address=address)
            return None
        return Identity(user, scope, via=PROXY)


DeclaredScope = Callable[["Scope"], str | None]


def declared_scopes(app: Any) -> DeclaredScope:
    """The scope the routes of `app` (or of the query API it serves in-process) declare
    with `needs(...)`, for a request; None when its route declares none."""
    declared = [
        (compile_route(path), methods, scope) for path, methods, scope in _declarations(app)
    ]

    def lookup(scope: Scope) -> str | None:
        method = "WS" if scope["type"] == "websocket" else scope.get("method", "GET")
        for pattern, methods, needed in declared:
            if method in methods and pattern.fullmatch(scope["path"]):
                return needed
        return None

    return lookup


def compile_route(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _declarations(app: Any) -> Iterable[tuple[str, frozenset[str], str]]:
    routes = _routes_of(app)
    yield from _declared_in(routes, "")


def _routes_of(app: Any) -> list[Any]:
    for _ in range(6):  # through the wrappers (WhenReady, the web UI) to the routed app
        if app is None:
            return []
        routes = getattr(app, "routes", None)
        if routes is not None:
            return list(routes)
        app = getattr(app, "query_app", None) or getattr(app, "app", None)
    return []


def _declared_in(routes: list[Any], prefix: str) -> Iterable[tuple[str, frozenset[str], str]]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _declared_in(included.routes, prefix + route.include_context.prefix)
            continue
        extra = getattr(route, "openapi_extra", None) or {}
        if SCOPE_EXTENSION in extra:
            methods = getattr(route, "methods", None) or {"WS"}
            yield prefix + route.path, frozenset(methods), extra[SCOPE_EXTENSION]


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
    """Logged-in browsers. Where a store exists a session lives there (`ams_…` tokens,
    kept hashed, their role read at each use, valid on every service sharing the store: the
    web UI forwards the token to the query API as its bearer). Without a store only
    AGENTMON_API_KEY can log in, and its sessions live in this process's memory."""

    keyring: KeyRing
    lifetime_s: float = SESSION_LIFETIME_S
    _in_memory: dict[str, tuple[str, float]] = field(default_factory=dict)

    async def start(self, kind: str, principal: str, api_key: str | None = None) -> str:
        if self.keyring.store is None:
            if api_key is None:
                raise CredentialsUnavailable("no store to keep a session in")
            self._expire()
            token = secrets.token_urlsafe(32)
            self._in_memory[token] = (api_key, time.monotonic() + self.lifetime_s)
            return token
        return await self.keyring.start_session(kind, principal, self.lifetime_s)

    def bearer_of(self, token: str | None) -> str | None:
        """What the session cookie `token` stands for as a bearer credential: the stored
        session's own token, or the API key of an in-memory session."""
        if not token:
            return None
        entry = self._in_memory.get(token)
        if entry is not None:
            return entry[0] if entry[1] >= time.monotonic() else None
        return token if is_session_token(token) else None

    async def end(self, token: str | None) -> None:
        if token:
            self._in_memory.pop(token, None)
            if self.keyring.store is not None:
                await self.keyring.end_session(token)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, (_, until) in self._in_memory.items() if until < now]:
            del self._in_memory[token]


class BearerAuth(Guard):
    """The ingest apps' own check when built alone (tests, embedding): the API key only."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        super().__init__(app, KeyRing(api_key), ingest_rule(metrics_open=True))
