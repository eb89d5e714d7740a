"""API keys in the store: only each key's SHA-256 is kept, found again by its public prefix.

A key reads `amk_<prefix>_<secret>`: the prefix (8 hex digits) names the row and may be shown
and logged; the secret (256 random bits) is never stored. A fast hash is right here (unlike
for passwords): the keys are random, so there is nothing to guess from the digest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agentmon.store.base import Store

INGEST, READ, ADMIN = "ingest", "read", "admin"
SCOPES = (INGEST, READ, ADMIN)
KEY_PATTERN = re.compile(r"amk_([0-9a-f]{8})_[A-Za-z0-9_-]{20,}")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class KeyProblem(ValueError):
    """A key cannot be created or revoked as asked; the message is one line for the user."""


@dataclass(frozen=True)
class StoredKey:
    name: str
    scope: str
    prefix: str
    digest: str
    created_ms: int
    last_used_ms: int | None


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    """The prefix of a well-formed key, None for anything else."""
    match = KEY_PATTERN.fullmatch(key)
    return match.group(1) if match else None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stored(row: dict[str, Any]) -> StoredKey:
    last_used = row["last_used_ms"]
    return StoredKey(
        name=row["name"],
        scope=row["scope"],
        prefix=row["prefix"],
        digest=row["digest"],
        created_ms=int(row["created_ms"]),
        last_used_ms=None if last_used is None else int(last_used),
    )


async def create_key(store: Store, name: str, scope: str) -> str:
    """Store a new key named `name` and return it: the only time it is ever shown."""
    if scope not in SCOPES:
        raise KeyProblem(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not NAME_PATTERN.fullmatch(name):
        raise KeyProblem(f"key name {name!r}: use letters, digits, . _ @ - (at most 64)")
    if await store.fetch("SELECT name FROM api_keys WHERE name = ?", [name]):
        raise KeyProblem(f"a key named {name!r} exists already (revoke it first)")
    prefix = secrets.token_hex(4)
    key = f"amk_{prefix}_{secrets.token_urlsafe(32)}"
    await store.execute(
        "INSERT INTO api_keys (name, prefix, digest, scope, created_ms) VALUES (?, ?, ?, ?, ?)",
        [name, prefix, digest_of(key), scope, _now_ms()],
    )
    return key


async def list_keys(store: Store) -> list[StoredKey]:
    rows = await store.fetch("SELECT * FROM api_keys ORDER BY created_ms, name", [])
    return [_stored(row) for row in rows]


async def key_by_prefix(store: Store, prefix: str) -> StoredKey | None:
    rows = await store.fetch("SELECT * FROM api_keys WHERE prefix = ?", [prefix])
    return _stored(rows[0]) if rows else None


async def key_count(store: Store) -> int:
    rows = await store.fetch("SELECT count(*) AS n FROM api_keys", [])
    return int(rows[0]["n"])


async def revoke_key(store: Store, name_or_prefix: str) -> StoredKey:
    """Delete the key with this name or prefix; the revoked key, or KeyProblem if none."""
    rows = await store.fetch(
        "SELECT * FROM api_keys WHERE name = ? OR prefix = ?", [name_or_prefix, name_or_prefix]
    )
    if len(rows) != 1:
        raise KeyProblem(f"no key named {name_or_prefix!r} or with that prefix")
    key = _stored(rows[0])
    await store.execute("DELETE FROM api_keys WHERE prefix = ?", [key.prefix])
    return key


async def mark_used(store: Store, prefix: str) -> None:
    await store.execute(
        "UPDATE api_keys SET last_used_ms = ? WHERE prefix = ?", [_now_ms(), prefix]
    )
