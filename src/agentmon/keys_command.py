"""`agentmon keys create|list|revoke`: API keys with a scope, kept hashed in the store."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from agentmon.auth import audit_event
from agentmon.config import Settings
from agentmon.store.keys import SCOPES, KeyProblem, StoredKey, create_key, list_keys, revoke_key


def add_keys_command(commands: Any) -> None:
    keys = commands.add_parser(
        "keys",
        help="create, list and revoke API keys (ingest, read or admin)",
        description="Keys live hashed in the store (DATABASE_URL, else AGENTMON_DATA_DIR's "
        "SQLite file), so every service reading that store accepts them within seconds. "
        "ingest: send events (hooks, VMs, SDK); read: the query API and the web UI; "
        "admin: both. AGENTMON_API_KEY stays a full-access key.",
    )
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a key and print it (only this once)",
        description="Creates a key with a scope and prints it on standard output, the only "
        "time it is shown: the store keeps its SHA-256 only.",
    )
    create.add_argument("name", help="what the key is for, e.g. vm-fleet or grafana")
    create.add_argument("--scope", choices=SCOPES, required=True, help="what the key may do")
    actions.add_parser(
        "list",
        help="name, scope, prefix, created and last used (no secret)",
        description="Lists every key by name, scope, prefix, creation and last use (to the "
        "minute); never the key itself.",
    )
    revoke = actions.add_parser(
        "revoke",
        help="revoke a key by its name or prefix",
        description="Deletes the key; services refuse it within seconds (their key cache "
        "lasts 5 s).",
    )
    revoke.add_argument("key", metavar="NAME|PREFIX", help="the key's name or its prefix")
    keys.set_defaults(run=run_keys)


async def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.store import open_store

    store = open_store(settings)
    await store.open()
    try:
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
            _print_table(await list_keys(store))
        else:
            revoked = await revoke_key(store, args.key)
            audit_event("key-revoked", key=revoked.name, prefix=revoked.prefix)
            print(f"revoked {revoked.name} (amk_{revoked.prefix}_…): refused within seconds")
    except KeyProblem as exc:
        print(f"agentmon keys: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    return 0


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _print_table(keys: list[StoredKey]) -> None:
    rows = [("name", "scope", "prefix", "created", "last used")]
    rows += [
        (k.name, k.scope, f"amk_{k.prefix}_", _when(k.created_ms), _when(k.last_used_ms))
        for k in keys
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
