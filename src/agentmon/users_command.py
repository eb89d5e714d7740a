"""`agentmon users add|list|remove|passwd`: the web UI's users (admin or viewer), kept in the
store with their password hashed; the password is read from a prompt or standard input,
never from the command line (where `ps` and shell history would show it)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from agentmon.auth import audit_event
from agentmon.cli import act_on_store, add_command_with_actions, print_table, refused, utc_time
from agentmon.config import Settings
from agentmon.store.base import Store
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
    actions = add_command_with_actions(
        commands,
        "users",
        (
            "add, list and remove the web UI's users (admin or viewer)",
            "Users log in to the web UI with a name and password. viewer: reads everything; "
            "admin: also what needs the admin scope (keys, users, settings). They live in the "
            "store (DATABASE_URL, else AGENTMON_DATA_DIR's SQLite file), passwords as scrypt "
            "hashes. A password is asked for at a prompt, or read from standard input (one "
            "line) when that is not a terminal.",
        ),
        {
            "add": (
                "add a user (asks for the password)",
                "Adds a user who can log in to the web UI. The password (at least 10 "
                "characters) is asked for twice at a prompt, or read as one line from standard "
                "input.",
            ),
            "list": (
                "name, role, created and password changed",
                "Lists every user by name and role, with when they were added and when their "
                "password last changed; never a password or its hash.",
            ),
            "remove": (
                "remove a user and end their sessions",
                "Deletes the user; their logged-in sessions end at once on this machine and "
                "within seconds on every service sharing the store.",
            ),
            "passwd": (
                "change a user's password (ends their sessions)",
                "Sets a new password (asked for as with add) and ends the user's sessions, so "
                "whoever knew the old one is logged out.",
            ),
        },
        run_users,
    )
    actions["add"].add_argument("name", help="the user name, e.g. alice")
    actions["add"].add_argument(
        "--role", choices=ROLES, default=VIEWER, help="what the user may do"
    )
    actions["remove"].add_argument("name")
    actions["passwd"].add_argument("name")


async def run_users(args: argparse.Namespace, settings: Settings) -> int:
    try:
        password = _new_password(args)
    except UserProblem as exc:
        return refused("users", exc)
    return await act_on_store(
        settings, "users", UserProblem, lambda store: _act(store, args, password)
    )


async def _act(store: Store, args: argparse.Namespace, password: str) -> None:
    if args.action == "list":
        _print_users(await list_users(store))
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


def _print_users(users: list[User]) -> None:
    print_table(
        [
            ("name", "role", "created", "password changed"),
            *((u.name, u.role, utc_time(u.created_ms), utc_time(u.changed_ms)) for u in users),
        ]
    )
