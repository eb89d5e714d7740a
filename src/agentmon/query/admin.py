"""The admin part of the query API: who may log in, and which keys exist (names and
prefixes, never a secret). Every route here declares the admin scope, which the Guard
checks before the request reaches it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from agentmon.auth import needs
from agentmon.store import Store
from agentmon.store.keys import ADMIN, list_keys
from agentmon.store.users import list_users


class UserInfo(BaseModel):
    name: str
    role: str
    created_ms: int
    changed_ms: int


class KeyInfo(BaseModel):
    name: str
    scope: str
    prefix: str
    created_ms: int
    last_used_ms: int | None


class Users(BaseModel):
    users: list[UserInfo]


class Keys(BaseModel):
    keys: list[KeyInfo]


def admin_routes(store: Store) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.get("/v1/admin/users", openapi_extra=needs(ADMIN))
    async def users() -> Users:
        """The web UI's users and their roles (admin only)."""
        found = await list_users(store)
        return Users(
            users=[
                UserInfo(name=u.name, role=u.role, created_ms=u.created_ms, changed_ms=u.changed_ms)
                for u in found
            ]
        )

    @router.get("/v1/admin/keys", openapi_extra=needs(ADMIN))
    async def keys() -> Keys:
        """The API keys by name, scope and prefix; never the key (admin only)."""
        found = await list_keys(store)
        return Keys(
            keys=[
                KeyInfo(
                    name=k.name,
                    scope=k.scope,
                    prefix=k.prefix,
                    created_ms=k.created_ms,
                    last_used_ms=k.last_used_ms,
                )
                for k in found
            ]
        )

    return router
