"""`python -m agentmon.monitor`: the same command as `agentmon openclaw-monitor`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from agentmon.config import Settings
from agentmon.monitor.command import add_arguments, main


def run() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentmon.monitor",
        description="Poll OpenClaw VMs (libvirt, SSH, gateway) and emit openclaw.snapshot events.",
    )
    add_arguments(parser)
    args = parser.parse_args()
    settings = Settings.load()
    level = os.environ.get("AGENTMON_LOG_LEVEL", settings.log_level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(main(args, settings, None))


if __name__ == "__main__":
    raise SystemExit(run())
