"""`agentmon keys create|list|revoke`: API keys with a scope, kept hashed in the store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentmon.auth import audit_event
from agentmon.cli import act_on_store, add_command_with_actions, print_table, utc_time
from agentmon.config import Settings
from agentmon.store.base import Store
from agentmon.store.keys import SCOPES, KeyProblem, StoredKey, create_key, list_keys, revoke_key


def add_keys_command(commands: Any) -> None:
    actions = add_command_with_actions(
        commands,
        "keys",
        (
            "create, list and revoke API keys (ingest, read or admin)",
            "Keys live hashed in the store (DATABASE_URL, else AGENTMON_DATA_DIR's SQLite "
            "file), so every service reading that store accepts them within seconds. ingest: "
            "send events (hooks, VMs, SDK); read: the query API and the web UI; admin: both. "
            "AGENTMON_API_KEY stays a full-access key.",
        ),
        {
            "create": (
                "create a key and print it (only this once)",
                "Creates a key with a scope and prints it on standard output, the only time it "
                "is shown: the store keeps its SHA-256 only.",
            ),
            "list": (
                "name, scope, prefix, created and last used (no secret)",
                "Lists every key by name, scope, prefix, creation and last use (to the "
                "minute); never the key itself.",
            ),
            "revoke": (
                "revoke a key by its name or prefix",
                "Deletes the key; services refuse it within seconds (their key cache lasts 5 s).",
            ),
        },
        run_keys,
    )
    actions["create"].add_argument("name", help="what the key is for, e.g. vm-fleet or grafana")
    actions["create"].add_argument(
        "--scope", choices=SCOPES, required=True, help="what the key may do"
    )
    actions["revoke"].add_argument(
        "key", metavar="NAME|PREFIX", help="the key's name or its prefix"
    )


async def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    return await act_on_store(settings, "keys", KeyProblem, lambda store: _act(store, args))


async def _act(store: Store, args: argparse.Namespace) -> None:
    if args.action == "create":
        key = await create_key(store, args.name, args.scope)
        audit_event("key-created", key=args.name, scope=args.scope)
        print(key)
        print(
            f"agentmon: key {args.name!r} ({args.scope}) created; it is shown only now. "
            "Send it as Authorization: Bearer <key>, or AGENTMON_API_KEY=<key> for the "
            "hooks, SDK and monitor.",
            file=sys.stderr,
        )
    elif args.action == "list":
        _print_keys(await list_keys(store))
    else:
        revoked = await revoke_key(store, args.key)
        audit_event("key-revoked", key=revoked.name, prefix=revoked.prefix)
        print(f"revoked {revoked.name} (amk_{revoked.prefix}_…): refused within seconds")


def _print_keys(keys: list[StoredKey]) -> None:
    print_table(
        [
            ("name", "scope", "prefix", "created", "last used"),
            *(
                (
                    k.name,
                    k.scope,
                    f"amk_{k.prefix}_",
                    utc_time(k.created_ms),
                    utc_time(k.last_used_ms),
                )
                for k in keys
            ),
        ]
    )
