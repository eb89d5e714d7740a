"""`agentmon openclaw-monitor`: its flags and what it does with them.

Without --once it polls forever (until SIGINT/SIGTERM). With --once it polls one round,
delivers the snapshots (unless --no-post), prints the table and exits: 0 when the round was
delivered or --no-post was given, 1 when the snapshots could not be delivered or the registry
could not be read (the table is printed either way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from agentmon.client.sink import HttpSink, Sink
from agentmon.config import Settings
from agentmon.events import Envelope
from agentmon.monitor.arguments import add_arguments
from agentmon.monitor.service import MonitorService
from agentmon.monitor.table import format_table


async def main(args: argparse.Namespace, settings: Settings, sink: Sink | None) -> int:
    registry = (args.registry or settings.openclaw_registry).expanduser()
    interval = args.interval if args.interval is not None else settings.poll_interval
    http_sink: HttpSink | None = None
    if sink is None:
        http_sink = HttpSink(args.ingest_url or settings.ingest_url, api_key=settings.api_key)
        sink = http_sink
    if args.once and args.no_post:
        sink = _discard
    service = MonitorService(registry, interval, sink)
    try:
        if args.once:
            return await _once(service)
        await _until_signalled(service.run())
        return 0
    finally:
        await service.close()
        if http_sink is not None:
            await http_sink.aclose()


async def _once(service: MonitorService) -> int:
    snapshots = await service.poll_once()
    sys.stdout.write(format_table(snapshots))
    if service.watcher.error is not None:
        print(f"error: {service.watcher.error}", file=sys.stderr)
        return 1
    if service.last_delivery_error is not None:
        print(f"error: snapshots not delivered: {service.last_delivery_error}", file=sys.stderr)
        return 1
    return 0


async def _until_signalled(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _discard(_events: list[Envelope]) -> None:
    return None


__all__ = ["add_arguments", "main"]
