"""Users of the web UI and its logged-in sessions, kept in the store beside the API keys.

A password is kept as an scrypt hash (N=2^17, r=8, p=1: OWASP's recommendation, about
128 MiB and a few hundred milliseconds per check, which is what makes guessing slow). A
session token is random, so its SHA-256 is enough (as for keys); the session row names the
user or key it belongs to and the role is read from that user or key at each use, so
removing a user, changing its role or revoking a key takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agentmon.store.base import Store
from agentmon.store.keys import ADMIN, READ, key_by_prefix

VIEWER = "viewer"
ROLES = (ADMIN, VIEWER)
ROLE_SCOPES = {ADMIN: ADMIN, VIEWER: READ}
"""What each role may do, in the scopes the keys use."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
SESSION_PREFIX = "ams_"
USER_SESSION, KEY_SESSION, API_KEY_SESSION = "user", "key", "api-key"


class UserProblem(ValueError):
    """A user cannot be added, changed or removed as asked; one line for the person."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_ms: int
    changed_ms: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash`: the parameters travel with the hash, so they can grow."""
    salt = secrets.token_bytes(16)
    derived = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(derived)}"


def password_matches(password: str, encoded: str) -> bool:
    try:
        kind, n, r, p, salt, expected = encoded.split("$")
        if kind != "scrypt":
            return False
        derived = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, base64.b64decode(expected))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32
    )


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserProblem(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserProblem(f"the password may have at most {MAX_PASSWORD} characters")


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise UserProblem(f"user name {name!r}: use letters, digits, . _ @ - (at most 64)")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserProblem(f"role {role!r} is not one of {', '.join(ROLES)}")


def _user(row: dict[str, Any]) -> User:
    return User(
        name=row["name"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_ms=int(row["created_ms"]),
        changed_ms=int(row["changed_ms"]),
    )


async def add_user(store: Store, name: str, role: str, password_hash: str) -> None:
    """Store a new user; `password_hash` from hash_password (slow: hash off the event loop)."""
    check_name(name)
    check_role(role)
    if await user_by_name(store, name) is not None:
        raise UserProblem(f"a user named {name!r} exists already")
    now = _now_ms()
    await store.execute(
        "INSERT INTO users (name, role, password_hash, created_ms, changed_ms) "
        "VALUES (?, ?, ?, ?, ?)",
        [name, role, password_hash, now, now],
    )


async def user_by_name(store: Store, name: str) -> User | None:
    rows = await store.fetch("SELECT * FROM users WHERE name = ?", [name])
    return _user(rows[0]) if rows else None


async def list_users(store: Store) -> list[User]:
    rows = await store.fetch("SELECT * FROM users ORDER BY name", [])
    return [_user(row) for row in rows]


async def user_count(store: Store) -> int:
    rows = await store.fetch("SELECT count(*) AS n FROM users", [])
    return int(rows[0]["n"])


async def set_password(store: Store, name: str, password_hash: str) -> None:
    """Change a user's password; their sessions end (whoever had it must log in again)."""
    if await user_by_name(store, name) is None:
        raise UserProblem(f"no user named {name!r}")
    await store.execute(
        "UPDATE users SET password_hash = ?, changed_ms = ? WHERE name = ?",
        [password_hash, _now_ms(), name],
    )
    await end_sessions_of(store, USER_SESSION, name)


async def remove_user(store: Store, name: str) -> User:
    user = await user_by_name(store, name)
    if user is None:
        raise UserProblem(f"no user named {name!r}")
    await store.execute("DELETE FROM users WHERE name = ?", [name])
    await end_sessions_of(store, USER_SESSION, name)
    return user


# ---------------------------------------------------------------------------------------
# Sessions


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_session_token(token: str) -> bool:
    return token.startswith(SESSION_PREFIX) and 30 < len(token) < 100


async def start_session(store: Store, kind: str, principal: str, lifetime_s: float) -> str:
    """A new session for a user (kind "user", principal its name) or a key ("key", its
    prefix; "api-key" for AGENTMON_API_KEY); the token, shown only now."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = _now_ms()
    await store.execute(
        "INSERT INTO ui_sessions (digest, kind, principal, created_ms, expires_ms) "
        "VALUES (?, ?, ?, ?, ?)",
        [session_digest(token), kind, principal, now, now + int(lifetime_s * 1000)],
    )
    await store.execute("DELETE FROM ui_sessions WHERE expires_ms < ?", [now])
    return token


@dataclass(frozen=True)
class StoredSession:
    kind: str
    principal: str
    scope: str  # what it may do now: read or admin (from the user's role or the key's scope)


async def session_of(store: Store, token: str) -> StoredSession | None:
    """The live session this token opens, with the scope its user or key has now."""
    rows = await store.fetch(
        "SELECT kind, principal FROM ui_sessions WHERE digest = ? AND expires_ms > ?",
        [session_digest(token), _now_ms()],
    )
    if not rows:
        return None
    kind, principal = rows[0]["kind"], rows[0]["principal"]
    scope = await _scope_of(store, kind, principal)
    return None if scope is None else StoredSession(kind, principal, scope)


async def _scope_of(store: Store, kind: str, principal: str) -> str | None:
    if kind == USER_SESSION:
        user = await user_by_name(store, principal)
        return None if user is None else ROLE_SCOPES.get(user.role)
    if kind == KEY_SESSION:
        key = await key_by_prefix(store, principal)
        return None if key is None else key.scope
    if kind == API_KEY_SESSION:
        return ADMIN  # checked against AGENTMON_API_KEY by whoever accepts it
    return None


async def end_session(store: Store, token: str) -> None:
    await store.execute("DELETE FROM ui_sessions WHERE digest = ?", [session_digest(token)])


async def end_sessions_of(store: Store, kind: str, principal: str) -> None:
    await store.execute(
        "DELETE FROM ui_sessions WHERE kind = ? AND principal = ?", [kind, principal]
    )
