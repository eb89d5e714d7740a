"""The `agentmon` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentmon import __version__
from agentmon.config import ENV_TABLE, Settings

DESCRIPTION = """\
Live monitoring for fleets of AI agents.

Embedded (one process, SQLite, nothing else to run):
  agentmon serve --demo            then open http://localhost:8082

Distributed (NATS JetStream + PostgreSQL, one process per service):
  agentmon ingest-gateway | event-processor | query-api | web-ui | openclaw-monitor
"""


def _env_help() -> str:
    return "environment variables: " + ", ".join(key for key, _ in ENV_TABLE)


def _add_addr(parser: argparse.ArgumentParser, flag: str, setting: str, what: str) -> None:
    parser.add_argument(
        flag, dest=setting, default=None, metavar="ADDR", help=f"{what} listen address, e.g. :8080"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentmon",
        description=DESCRIPTION,
        epilog=_env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentmon {__version__}")
    parser.add_argument(
        "--env-file", default=".env", help="read settings from this file first (default .env)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run everything in one process with SQLite "
        "(ingest :8080, query :8081, UI :8082, OTLP :4318)",
        description="Embedded mode: ingest gateway, processor, query API, live feed, web UI and "
        "OTLP receiver in one process over SQLite in AGENTMON_DATA_DIR. Runs the VM monitor "
        "too when OPENCLAW_REGISTRY exists.",
    )
    serve.add_argument(
        "--demo", action="store_true", help="backfill a day of demo traffic, then keep it flowing"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the SQLite database lives (AGENTMON_DATA_DIR)",
    )
    serve.add_argument("--no-ui", action="store_true", help="do not serve the web UI")
    _add_addr(serve, "--addr", "ingest_addr", "ingest gateway")
    _add_addr(serve, "--query-addr", "query_addr", "query API")
    _add_addr(serve, "--ui-addr", "ui_addr", "web UI")
    _add_addr(serve, "--otlp-addr", "otlp_addr", "OTLP/HTTP receiver")
    serve.set_defaults(run=_serve)

    ingest = commands.add_parser(
        "ingest-gateway",
        help="accept events over HTTP/WebSocket/OTLP and publish them to NATS JetStream",
        description="Validates events (POST /v1/events, WS /v1/ws, OTLP /v1/traces|logs|metrics) "
        "and "
        "acknowledges them once JetStream holds them. Needs NATS_URL.",
    )
    _add_addr(ingest, "--addr", "ingest_addr", "ingest gateway")
    _add_addr(ingest, "--otlp-addr", "otlp_addr", "OTLP/HTTP receiver ('' to disable)")
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
    _add_addr(query, "--addr", "query_addr", "query API")
    query.set_defaults(run=_query)

    web = commands.add_parser(
        "web-ui",
        help="serve the dashboard, proxying the API to AGENTMON_QUERY_BASE",
        description="Serves the single-page dashboard and reverse-proxies /v1 (HTTP and WebSocket) "
        "to the query API at AGENTMON_QUERY_BASE.",
    )
    _add_addr(web, "--addr", "ui_addr", "web UI")
    web.add_argument("--query-base", dest="query_base", default=None, help="query API base URL")
    web.set_defaults(run=_web)

    monitor = commands.add_parser(
        "openclaw-monitor",
        help="poll OpenClaw VMs (libvirt, SSH, gateway) and emit openclaw.snapshot events",
        description="Reads OPENCLAW_REGISTRY, polls every POLL_INTERVAL and posts snapshots to the "
        "ingest gateway (AGENTMON_INGEST_URL), or publishes them to NATS when NATS_URL is set.",
    )
    from agentmon.monitor import add_arguments

    add_arguments(monitor)
    monitor.set_defaults(run=_monitor)

    demo = commands.add_parser(
        "demo",
        help="send demo traffic to a running ingest gateway",
        description="Backfills a day of plausible sessions, then keeps sending live traffic to "
        "AGENTMON_INGEST_URL (or --ingest-url).",
    )
    demo.add_argument("--ingest-url", default=None, help="ingest gateway base URL")
    demo.add_argument("--hours", type=float, default=24, help="hours of history to backfill")
    demo.add_argument("--backfill-only", action="store_true", help="stop after the backfill")
    demo.set_defaults(run=_demo)

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(run=_migrate)
    __import__("agentmon.export", fromlist=["*"]).add_export_command(commands)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name)
        for name in ("ingest_addr", "query_addr", "ui_addr", "otlp_addr", "query_base", "data_dir")
        if getattr(args, name, None) is not None
    }
    if getattr(args, "ingest_url", None):
        overrides["ingest_url"] = args.ingest_url
    return Settings.load(overrides, env_file=args.env_file)


def _serve(args: argparse.Namespace, settings: Settings) -> Any:
    from agentmon.runtime import run_embedded

    return run_embedded(settings, demo=args.demo, ui=not args.no_ui)


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
    from agentmon.monitor import main

    if settings.nats_url and not args.ingest_url:
        from agentmon.bus.nats import NatsBus

        bus = NatsBus(settings)
        await bus.connect()
        try:
            return await main(args, settings, bus.accept)
        finally:
            await bus.close()
    return await main(args, settings, None)


async def _demo(args: argparse.Namespace, settings: Settings) -> None:
    from agentmon.demo import DemoTraffic
    from agentmon.ingest.client import HttpSink

    sink = HttpSink(settings.ingest_url, api_key=settings.api_key)
    traffic = DemoTraffic(sink, backfill_hours=args.hours)
    try:
        await traffic.backfill()
        if not args.backfill_only:
            await traffic.live()
    finally:
        await sink.aclose()


async def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    from agentmon.runtime import opened_store

    async with opened_store(settings):
        print("migrations applied")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"agentmon: {exc}", file=sys.stderr)
        return 2
    from agentmon.logs import configure

    configure(settings.log_level, settings.log_format)
    run: Callable[[argparse.Namespace, Settings], Any] = args.run
    try:
        result = asyncio.run(run(args, settings))
    except KeyboardInterrupt:
        return 130
    except (ConnectionError, OSError) as exc:
        print(f"agentmon: {exc}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


__all__ = ["build_parser", "main"]
