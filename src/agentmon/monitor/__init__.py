"""The OpenClaw VM monitor: libvirt, SSH and gateway health of every registered instance.

`MonitorService` polls; `add_arguments` and `main` are the `agentmon openclaw-monitor`
command; `format_table` renders snapshots for a terminal. See docs/monitor.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: `agentmon --help` builds the monitor's flags in the producer install,
# where the probes' dependencies (httpx, asyncssh, libvirt) are absent.
_EXPORTS = {
    "DeliveryError": "agentmon.client.sink",
    "HttpSink": "agentmon.client.sink",
    "Sink": "agentmon.client.sink",
    "add_arguments": "agentmon.monitor.arguments",
    "main": "agentmon.monitor.command",
    "MonitorService": "agentmon.monitor.service",
    "StepTimeouts": "agentmon.monitor.service",
    "format_table": "agentmon.monitor.table",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "DeliveryError",
    "HttpSink",
    "MonitorService",
    "Sink",
    "StepTimeouts",
    "add_arguments",
    "format_table",
    "main",
]
