"""The OpenClaw VM monitor: libvirt, SSH and gateway health of every registered instance.

`MonitorService` polls; `add_arguments` and `main` are the `agentmon openclaw-monitor`
command; `format_table` renders snapshots for a terminal. See docs/monitor.md.
"""

from agentmon.client.sink import DeliveryError, HttpSink, Sink
from agentmon.monitor.command import add_arguments, main
from agentmon.monitor.service import MonitorService, StepTimeouts
from agentmon.monitor.table import format_table

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
