"""The `agentmon openclaw-monitor` flags: light, so `agentmon --help` builds them without the
probes' dependencies."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentmon.config import parse_duration


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="poll every instance once, print a table and exit"
    )
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="instance registry JSON (default: OPENCLAW_REGISTRY)",
    )
    parser.add_argument(
        "--interval",
        type=parse_duration,
        default=None,
        help="time between polls, e.g. 30s or 1m (default: POLL_INTERVAL)",
    )
    parser.add_argument(
        "--ingest-url", default=None, help="ingest gateway base URL (default: AGENTMON_INGEST_URL)"
    )
    parser.add_argument(
        "--no-post",
        action="store_true",
        help="with --once: print the table without delivering the snapshots",
    )
