"""`agentmon users add|list|remove|passwd`: the web UI's users (admin or viewer), kept in the
store with their password hashed; the password is read from a prompt or standard input,
never from the command line (where `ps` and shell history would show it)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from agentmon.auth import audit_event
from agentmon.config import Settings
from agentmon.store.users import (
    ROLES,
    VIEWER,
    User,
    UserProblem,
    add_user,
    check_name,
    check_password_rules,
    hash_password,
    list_users,
    remove_user,
    set_password,
)


def add_users_command(commands: Any) -> None:
    users = commands.add_parser(
        "users",
        help="add, list and remove the web UI's users (admin or viewer)",
        description="Users log in to the web UI with a name and password. viewer: reads "
        "everything; admin: also what needs the admin scope (keys, users, settings). They live "
        "in the store (DATABASE_URL, else AGENTMON_DATA_DIR's SQLite file), passwords as "
        "scrypt hashes. A password is asked for at a prompt, or read from standard input "
        "(one line) when that is not a terminal.",
    )
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a user (asks for the password)",
        description="Adds a user who can log in to the web UI. The password (at least 10 "
        "characters) is asked for twice at a prompt, or read as one line from standard input.",
    )
    add.add_argument("name", help="the user name, e.g. alice")
    add.add_argument("--role", choices=ROLES, default=VIEWER, help="what the user may do")
    actions.add_parser(
        "list",
        help="name, role, created and password changed",
        description="Lists every user by name and role, with when they were added and when "
        "their password last changed; never a password or its hash.",
    )
    remove = actions.add_parser(
        "remove",
        help="remove a user and end their sessions",
        description="Deletes the user; their logged-in sessions end at once on this machine "
        "and within seconds on every service sharing the store.",
    )
    remove.add_argument("name")
    passwd = actions.add_parser(
        "passwd",
        help="change a user's password (ends their sessions)",
        description="Sets a new password (asked for as with add) and ends the user's "
        "sessions, so whoever knew the old one is logged out.",
    )
    passwd.add_argument("name")
    users.set_defaults(run=run_users)


async def run_users(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.store import open_store

    try:
        password = _new_password(args)
    except UserProblem as exc:
        print(f"agentmon users: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)
    await store.open()
    try:
        if args.action == "list":
            _print_table(await list_users(store))
        elif args.action == "remove":
            removed = await remove_user(store, args.name)
            audit_event("user-removed", user=removed.name, role=removed.role)
            print(f"removed {removed.name} ({removed.role}); their sessions have ended")
        else:
            encoded = await asyncio.to_thread(hash_password, password)
            if args.action == "add":
                await add_user(store, args.name, args.role, encoded)
                audit_event("user-added", user=args.name, role=args.role, via="cli")
                print(f"added {args.name} ({args.role}): they can log in to the web UI now")
            else:
                await set_password(store, args.name, encoded)
                audit_event("user-password-changed", user=args.name)
                print(f"changed the password of {args.name}; their sessions have ended")
    except UserProblem as exc:
        print(f"agentmon users: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    return 0


def _new_password(args: argparse.Namespace) -> str:
    """The password for add/passwd (checked before the store is touched); '' otherwise."""
    if args.action not in ("add", "passwd"):
        return ""
    check_name(args.name)
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("the same again: ") != password:
            raise UserProblem("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password_rules(password)
    return password


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _print_table(users: list[User]) -> None:
    rows = [("name", "role", "created", "password changed")]
    rows += [(u.name, u.role, _when(u.created_ms), _when(u.changed_ms)) for u in users]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
