"""The `agentmon` command."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentmon import __version__
from agentmon.config import (
    ENV_TABLE,
    SETTINGS,
    SettingError,
    Settings,
    default_of,
    env_name,
    meaning_of,
    parse_setting,
    resolve,
)

if TYPE_CHECKING:
    from agentmon.store import Store

Runner = Callable[[argparse.Namespace, Settings], Any]

DESCRIPTION = """\
Live monitoring for fleets of AI agents.

Embedded (one process, SQLite, nothing else to run):
  agentmon serve --demo            then open http://localhost:8082

Distributed (NATS JetStream + PostgreSQL, one process per service):
  agentmon ingest-gateway | event-processor | query-api | web-ui | openclaw-monitor
"""

# Flags whose destination is named differently from the setting they override.
_FLAG_SETTINGS = {"registry": "openclaw_registry", "interval": "poll_interval"}


def _env_help() -> str:
    return "environment variables: " + ", ".join(key for key, _ in ENV_TABLE)


def setting_type(name: str, flag: str) -> Callable[[str], Any]:
    """Reads a flag's text as its setting's kind, so a bad value names the flag."""

    def parse(raw: str) -> Any:
        try:
            return parse_setting(name, raw, label=flag)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = name
    return parse


def add_setting_flag(
    parser: argparse.ArgumentParser, flag: str, name: str, meaning: str | None = None
) -> None:
    """A flag that overrides setting `name` (its help gets the default and the variable)."""
    parser.add_argument(
        flag,
        dest=name,
        type=setting_type(name, flag),
        default=None,
        metavar=name.rsplit("_", 1)[-1].upper(),
        help=meaning or meaning_of(name),
    )


def _shown_default(value: Any) -> str:
    if value is None or value is False:
        return "unset" if value is None else "off"
    text = str(value)
    home = str(Path.home())
    return "~" + text[len(home) :] if text.startswith(home + "/") else text or "''"


def _all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def _annotate_flags(parser: argparse.ArgumentParser) -> None:
    """Every flag's help says its default and the environment variable behind it."""
    for each in _all_parsers(parser):
        for action in each._actions:
            if not action.option_strings or action.help in (None, argparse.SUPPRESS):
                continue
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            if "; env: " in str(action.help):
                continue
            name = _FLAG_SETTINGS.get(action.dest, action.dest)
            if name in SETTINGS:
                default, env = _shown_default(default_of(name)), env_name(name)
            else:
                default, env = _shown_default(action.default), "none"
            action.help = f"{action.help} (default: {default}; env: {env})".replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentmon",
        description=DESCRIPTION,
        epilog=_env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentmon {__version__}")
    parser.add_argument("--env-file", default=".env", help="read settings from this file first")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_services(commands)
    _add_demo(commands)
    _add_migrate(commands)
    _add_config(commands)
    # commands defined beside what they do (imported here: they import this module)
    from agentmon.export import add_export_command
    from agentmon.hooks_setup.command import add_hooks_command
    from agentmon.importer.command import add_import_command
    from agentmon.keys_command import add_keys_command
    from agentmon.reprice import add_reprice_command
    from agentmon.users_command import add_users_command

    add_hooks_command(commands)
    add_export_command(commands)
    add_import_command(commands)
    add_reprice_command(commands)
    add_keys_command(commands)
    add_users_command(commands)
    _annotate_flags(parser)
    return parser


def add_command_with_actions(
    commands: Any,
    name: str,
    about: tuple[str, str],
    actions: dict[str, tuple[str, str]],
    run: Runner,
) -> dict[str, argparse.ArgumentParser]:
    """`agentmon NAME ACTION …`: the command and one parser per action, each from its
    (help, description); the caller adds the actions' arguments to the parsers returned."""
    command = commands.add_parser(name, help=about[0], description=about[1])
    command.set_defaults(run=run)
    chosen = command.add_subparsers(dest="action", required=True, metavar="ACTION")
    return {
        action: chosen.add_parser(action, help=help_line, description=description)
        for action, (help_line, description) in actions.items()
    }


def refused(command: str, problem: Exception) -> int:
    """Say why `agentmon COMMAND` cannot do what was asked; its exit status."""
    print(f"agentmon {command}: {problem}", file=sys.stderr)
    return 2


async def act_on_store(
    settings: Settings,
    command: str,
    problem: type[Exception],
    act: Callable[[Store], Awaitable[None]],
) -> int:
    """Run `act` on the store the settings name, opened for it and closed after; a `problem`
    it raises is refused (status 2)."""
    from agentmon.store import open_store

    store = open_store(settings)
    await store.open()
    try:
        await act(store)
    except problem as exc:
        return refused(command, exc)
    finally:
        await store.close()
    return 0


def utc_time(ms: int | None) -> str:
    """Epoch milliseconds as a UTC time to the second; "never" for None."""
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows of cells in aligned columns (the first row: the headings)."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def add_insecure_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--insecure",
        dest="insecure",
        action="store_const",
        const=True,
        default=None,
        help="let the read ports answer anyone on any address without a key (loudly logged)",
    )


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run everything in one process with SQLite "
        "(ingest :8080, query :8081, UI :8082, OTLP :4318)",
        description="Embedded mode: ingest gateway, processor, query API, live feed, web UI and "
        "OTLP receiver in one process over SQLite in AGENTMON_DATA_DIR. Runs the VM monitor "
        "too when OPENCLAW_REGISTRY exists. With --demo the data goes to its own directory "
        "(<data dir>/demo unless --data-dir is given), never into the real one.",
    )
    serve.add_argument(
        "--demo", action="store_true", help="backfill a day of demo traffic, then keep it flowing"
    )
    add_setting_flag(serve, "--data-dir", "data_dir", "where the SQLite database lives")
    serve.add_argument("--no-ui", action="store_true", help="do not serve the web UI")
    add_setting_flag(serve, "--addr", "ingest_addr")
    add_setting_flag(serve, "--query-addr", "query_addr")
    add_setting_flag(serve, "--ui-addr", "ui_addr")
    add_setting_flag(serve, "--otlp-addr", "otlp_addr")
    add_setting_flag(serve, "--otlp-grpc-addr", "otlp_grpc_addr")
    add_insecure_flag(serve)
    serve.set_defaults(run=_serve)


def _add_services(commands: Any) -> None:
    ingest = commands.add_parser(
        "ingest-gateway",
        help="accept events over HTTP/WebSocket/OTLP and publish them to NATS JetStream",
        description="Validates events (POST /v1/events, WS /v1/ws, OTLP /v1/traces|logs|metrics) "
        "and acknowledges them once JetStream holds them. Needs NATS_URL.",
    )
    add_setting_flag(ingest, "--addr", "ingest_addr")
    add_setting_flag(ingest, "--otlp-addr", "otlp_addr")
    add_setting_flag(ingest, "--otlp-grpc-addr", "otlp_grpc_addr")
    ingest.set_defaults(run=_ingest)

    processor = commands.add_parser(
        "event-processor",
        help="consume events from NATS JetStream and store them in PostgreSQL",
        description="Pulls batches from the shared durable consumer, stores them once in one "
        "transaction, acks after commit. Run several for more throughput. "
        "Needs NATS_URL and DATABASE_URL.",
    )
    processor.add_argument(
        "--metrics-addr", default=":9464", help="address for /metrics ('' to disable)"
    )
    processor.set_defaults(run=_processor)

    query = commands.add_parser(
        "query-api",
        help="serve the REST API and the live WebSocket feed from PostgreSQL",
        description="Reads sessions, runs, spans and stats; follows newly stored events over NATS "
        "for /v1/ws. Needs DATABASE_URL (and NATS_URL for the live feed).",
    )
    add_setting_flag(query, "--addr", "query_addr")
    add_insecure_flag(query)
    query.set_defaults(run=_query)

    web = commands.add_parser(
        "web-ui",
        help="serve the dashboard, proxying the API to AGENTMON_QUERY_BASE",
        description="Serves the single-page dashboard and reverse-proxies /v1 (HTTP and WebSocket) "
        "to the query API at AGENTMON_QUERY_BASE.",
    )
    add_setting_flag(web, "--addr", "ui_addr")
    add_setting_flag(web, "--query-base", "query_base")
    add_insecure_flag(web)
    web.set_defaults(run=_web)

    monitor = commands.add_parser(
        "openclaw-monitor",
        help="poll OpenClaw VMs (libvirt, SSH, gateway) and emit openclaw.snapshot events",
        description="Reads OPENCLAW_REGISTRY, polls every POLL_INTERVAL and posts snapshots to the "
        "ingest gateway (AGENTMON_INGEST_URL), or publishes them to NATS when NATS_URL is set.",
    )
    from agentmon.monitor.arguments import add_arguments

    add_arguments(monitor)
    monitor.set_defaults(run=_monitor)


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="send demo traffic to a running ingest gateway",
        description="Backfills a day of plausible sessions, then keeps sending live traffic to "
        "AGENTMON_INGEST_URL (or --ingest-url).",
    )
    add_setting_flag(demo, "--ingest-url", "ingest_url")
    demo.add_argument("--hours", type=float, default=24, help="hours of history to backfill")
    demo.add_argument("--backfill-only", action="store_true", help="stop after the backfill")
    demo.set_defaults(run=_demo)


def _add_migrate(commands: Any) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations and exit",
        description="Creates or upgrades the schema (the events table and the read models) in "
        "PostgreSQL when DATABASE_URL is set, else in the SQLite database in "
        "AGENTMON_DATA_DIR, then exits. The services do this on start too. "
        "`migrate partition-events` converts an existing PostgreSQL events table to time "
        "partitions online (docs/scaling.md).",
    )
    migrate.add_argument("step", nargs="?", choices=["partition-events"], help="a one-off step")
    migrate.add_argument(
        "--batch-rows", type=_positive_int, default=10_000, help="rows copied per transaction"
    )
    migrate.add_argument(
        "--drop-old", action="store_true", help="drop the unpartitioned table once swapped"
    )
    migrate.set_defaults(run=_migrate)


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above zero, got {raw!r}")
    return int(raw)


def _add_config(commands: Any) -> None:
    config = commands.add_parser(
        "config",
        help="print the effective configuration and where each value comes from",
        description="Prints every setting's value (secrets masked) and its source: default, "
        "the .env file, the environment, or a flag. Every setting can be given as a flag "
        "here to see its effect.",
    )
    for name in SETTINGS:
        add_setting_flag(config, "--" + name.replace("_", "-"), name)
    config.set_defaults(run=_config)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None}


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(_overrides(args), env_file=args.env_file)


def _serve(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_embedded

    if args.demo:
        settings = _demo_settings(settings, chosen=args.data_dir is not None)
    elif not settings.database_url:
        from agentmon.importer.offer import local_url, offer_import

        offer_import(settings.sqlite_path, local_url(settings.ingest_addr))
    return run_embedded(settings, demo=args.demo, ui=not args.no_ui)


def _demo_settings(settings: Settings, chosen: bool) -> Settings:
    """Demo traffic never lands in the database a real `serve` uses."""
    data_dir = settings.data_dir if chosen else settings.data_dir / "demo"
    print(
        f"agentmon: demo data goes to {data_dir} (its own SQLite database; delete that "
        "directory to reset it, --data-dir to choose another)",
        file=sys.stderr,
    )
    return dataclasses.replace(settings, data_dir=data_dir, database_url=None)


def _ingest(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_ingest_gateway

    return run_ingest_gateway(settings)


def _processor(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_event_processor

    return run_event_processor(settings, args.metrics_addr)


def _query(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_query_api

    return run_query_api(settings)


def _web(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_web_ui

    return run_web_ui(settings)


async def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.monitor.command import main

    if settings.nats_url and not args.ingest_url:
        from agentmon.bus.nats import NatsBus
        from agentmon.redaction import with_redaction

        bus = NatsBus(settings)
        await bus.connect()
        try:
            return await main(args, settings, with_redaction(bus, settings).accept)
        finally:
            await bus.close()
    return await main(args, settings, None)


async def _demo(args: argparse.Namespace, settings: Settings) -> None:
    from agentmon.client.sink import HttpSink
    from agentmon.demo import DemoTraffic

    sink = HttpSink(settings.ingest_url, api_key=settings.api_key)
    traffic = DemoTraffic(sink, backfill_hours=args.hours)
    try:
        await traffic.backfill()
        if not args.backfill_only:
            await traffic.live()
    finally:
        await sink.aclose()


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.runtime import opened_store

    async with opened_store(settings):
        print("migrations applied")
    if args.step == "partition-events":
        from agentmon.store.partition_events import run_conversion

        return await run_conversion(settings, args.batch_rows, args.drop_old)
    return 0


async def _config(args: argparse.Namespace, settings: Settings) -> None:
    rows = [("setting", "variable", "value", "source")]
    rows += [
        (item.name, item.env, item.shown(), item.source)
        for item in resolve(_overrides(args), args.env_file)
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"agentmon: {exc}", file=sys.stderr)
        return 2
    from agentmon.logs import configure

    configure(settings.log_level, settings.log_format)
    run: Runner = args.run
    try:
        result = asyncio.run(run(args, settings))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        print(
            f"agentmon {args.command}: needs the server install (missing module {exc.name!r}): "
            "pip install 'agentmon-fleet[server]'",
            file=sys.stderr,
        )
        return 2
    except (ConnectionError, OSError) as exc:
        print(f"agentmon: {exc}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


__all__ = [
    "act_on_store",
    "add_command_with_actions",
    "add_setting_flag",
    "build_parser",
    "main",
    "print_table",
    "refused",
    "setting_type",
    "utc_time",
]
