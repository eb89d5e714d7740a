"""`agentmon hooks install|uninstall|status`."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentmon.cli import add_setting_flag, setting_type
from agentmon.config import mask_secret
from agentmon.hooks_setup.documents import HooksSetupError
from agentmon.hooks_setup.specs import TOOLS
from agentmon.hooks_setup.tools import (
    PLANNERS,
    WIRING,
    FileChange,
    Options,
    Plan,
    TreeChange,
    settings_path,
)

_SECRET = re.compile(r"(AGENTMON_API_KEY=)(?!\*\*\*\*)([^\s\"',\]]+)")


def add_hooks_command(commands: Any) -> None:
    hooks = commands.add_parser(
        "hooks",
        help="wire agentmon's hook handlers into Claude Code, Codex, Gemini CLI, Hermes, OpenClaw",
        description="Merges agentmon's hook entries into an agent tool's own settings file "
        "(keeping the user's other settings, and comments in TOML and YAML), takes them out "
        "again, or shows which tools are wired.",
    )
    actions = hooks.add_subparsers(dest="hooks_action", required=True, metavar="ACTION")
    for action, verb in (
        ("install", "Adds agentmon's hook entries to"),
        ("uninstall", "Removes agentmon's hook entries from"),
    ):
        parser = actions.add_parser(
            action,
            help=f"{action} the hooks of one tool",
            description=f"{verb} the tool's settings file. A changed file is first copied to "
            "FILE.agentmon-backup-<time>; running it twice changes nothing the second time.",
        )
        parser.add_argument("tool", choices=sorted(TOOLS), help="the agent tool")
        parser.add_argument(
            "--settings",
            type=Path,
            default=None,
            metavar="FILE",
            help="the tool's settings file (default: the tool's own, e.g. ~/.claude/settings"
            ".json, ~/.codex/config.toml; env: none)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print the changes as a diff, write nothing"
        )
        if action == "install":
            _add_install_flags(parser)
        parser.set_defaults(run=_install if action == "install" else _uninstall)
    status = actions.add_parser(
        "status",
        help="which tools are wired, and whether the gateway answers",
        description="For every tool: whether its settings run agentmon's handler, and whether "
        "that handler is on the PATH; then GET <ingest URL>/healthz.",
    )
    add_setting_flag(status, "--ingest-url", "ingest_url", "the gateway to check")
    status.set_defaults(run=_status)


def _add_install_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ingest-url",
        dest="hook_ingest_url",
        type=setting_type("ingest_url", "--ingest-url"),
        default=None,
        metavar="URL",
        help="gateway URL the hooks send to, written into the hook command "
        "(default: none written, the handler reads AGENTMON_INGEST_URL when it runs; env: none)",
    )
    parser.add_argument(
        "--key",
        default=None,
        help="API key the hooks send, written like --ingest-url; never printed in full "
        "(default: none written, the handler reads AGENTMON_API_KEY; env: none)",
    )
    parser.add_argument(
        "--handler-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the handler command as DIR/agentmon-…-handler, for tools whose PATH "
        "lacks it (default: the bare command name; env: none)",
    )
    parser.add_argument(
        "--vm-name",
        default=None,
        metavar="NAME",
        help="OpenClaw: AGENTMON_VM_NAME for ~/.openclaw/.env",
    )
    parser.add_argument(
        "--openclaw-build",
        type=Path,
        default=None,
        metavar="DIR",
        help="OpenClaw: the built hook and plugin (default: hooks/openclaw/dist/install of "
        "this checkout; env: none)",
    )


async def _install(args: argparse.Namespace, _settings: Any) -> int:
    handler_dir = args.handler_dir.expanduser().resolve() if args.handler_dir else None
    options = Options(
        args.hook_ingest_url, args.key, args.vm_name, args.openclaw_build, handler_dir
    )
    _warn_unless_found(TOOLS[args.tool].handler, handler_dir, args.tool)
    return _run(args, install=True, options=options)


def _warn_unless_found(handler: str, handler_dir: Path | None, tool: str) -> None:
    if tool == "openclaw":
        return
    if handler_dir is not None:
        if not (handler_dir / handler).is_file():
            print(f"note: {handler_dir / handler} does not exist")
        return
    if shutil.which(handler) is None:
        beside = Path(sys.executable).parent / handler
        hint = f" (it is in {beside.parent}: add --handler-dir {beside.parent})"
        print(f"note: {handler} is not on the PATH{hint if beside.is_file() else ''}")


async def _uninstall(args: argparse.Namespace, _settings: Any) -> int:
    return _run(args, install=False, options=Options())


def _run(args: argparse.Namespace, install: bool, options: Options) -> int:
    path = settings_path(TOOLS[args.tool], args.settings)
    try:
        plan = PLANNERS[args.tool](path, install, options)
    except HooksSetupError as exc:
        print(f"agentmon: {exc}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"note: {note}")
    if not plan.files and not plan.trees:
        print(f"{args.tool}: already {'installed' if install else 'uninstalled'}; nothing changed")
        return 0
    if args.dry_run:
        sys.stdout.write(describe(plan, options.key))
        return 0
    apply(plan)
    for change in plan.files:
        print(f"{args.tool}: {'removed' if change.new is None else 'wrote'} {change.path}")
    for tree in plan.trees:
        what = "removed" if tree.source is None else f"copied {tree.source} to"
        print(f"{args.tool}: {what} {tree.target}")
    return 0


def mask(text: str, key: str | None) -> str:
    if key:
        text = text.replace(key, mask_secret(key))
    return _SECRET.sub(lambda found: found.group(1) + mask_secret(found.group(2)), text)


def describe(plan: Plan, key: str | None = None) -> str:
    """The plan as a unified diff per file and a line per directory, secrets masked."""
    parts: list[str] = []
    for change in plan.files:
        parts += difflib.unified_diff(
            (change.old or "").splitlines(keepends=True),
            (change.new or "").splitlines(keepends=True),
            fromfile=str(change.path) if change.old is not None else "/dev/null",
            tofile=str(change.path) if change.new is not None else "/dev/null",
        )
    for tree in plan.trees:
        parts.append(
            f"remove directory {tree.target}\n"
            if tree.source is None
            else f"copy {tree.source} to {tree.target}\n"
        )
    return mask("".join(line if line.endswith("\n") else line + "\n" for line in parts), key)


def apply(plan: Plan) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for change in plan.files:
        _apply_file(change, stamp)
    for tree in plan.trees:
        _apply_tree(tree)


def backup_path(path: Path, stamp: str) -> Path:
    candidate, number = path.with_name(f"{path.name}.agentmon-backup-{stamp}"), 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.agentmon-backup-{stamp}-{number}")
    return candidate


def _apply_file(change: FileChange, stamp: str) -> None:
    if change.old is not None:
        shutil.copy2(change.path, backup_path(change.path, stamp))
    if change.new is None:
        change.path.unlink(missing_ok=True)
        return
    change.path.parent.mkdir(parents=True, exist_ok=True)
    mode = change.path.stat().st_mode & 0o777 if change.path.exists() else 0o600
    handle, temporary = tempfile.mkstemp(dir=change.path.parent, prefix=f".{change.path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(change.new)
    os.chmod(temporary, mode)
    os.replace(temporary, change.path)


def _apply_tree(tree: TreeChange) -> None:
    if tree.target.exists():
        shutil.rmtree(tree.target)
    if tree.source is None:
        if not any(tree.target.parent.iterdir()):
            tree.target.parent.rmdir()  # ~/.openclaw/hooks, made for ours alone
    else:
        tree.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tree.source, tree.target)


async def _status(args: argparse.Namespace, settings: Any) -> int:
    for name, spec in TOOLS.items():
        path = settings_path(spec)
        print(f"{name:<12} {_wiring_line(name, path)}")
    url = (args.ingest_url or settings.ingest_url).rstrip("/")
    healthy, answer = gateway_answer(url)
    print(f"gateway      {url}: {answer}")
    return 0 if healthy else 1


def _wiring_line(name: str, path: Path) -> str:
    if not path.exists():
        return f"not wired ({path} does not exist)"
    try:
        wiring = WIRING[name](path)
    except HooksSetupError as exc:
        return f"unknown: {exc}"
    state = (
        "wired"
        if wiring.wired == wiring.expected
        else "not wired"
        if wiring.wired == 0
        else "partly wired"
    )
    line = f"{state} ({wiring.wired} of {wiring.expected}) in {path}"
    if wiring.detail:
        line += f"; {wiring.detail}"
    handler = TOOLS[name].handler
    if wiring.wired and name != "openclaw":
        found = shutil.which(handler)
        line += f"; {handler} {'at ' + found if found else 'NOT on the PATH'}"
    return line


def gateway_answer(url: str) -> tuple[bool, str]:
    """(healthy, what GET <url>/healthz gave)."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=3) as response:
            return True, f"answers (HTTP {response.status})"
    except urllib.error.HTTPError as exc:
        return False, f"answers HTTP {exc.code}: not healthy"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"does not answer ({getattr(exc, 'reason', exc)})"
