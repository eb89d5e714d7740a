from __future__ import annotations

from typing import Any

from agentmon.events import Envelope, new_event
from agentmon.monitor import format_table


def snapshot(payload: dict[str, Any]) -> Envelope:
    return new_event("openclaw.snapshot", framework="openclaw", payload=payload)


def test_rows_are_sorted_and_missing_figures_show_as_dashes() -> None:
    table = format_table(
        [
            snapshot(
                {
                    "instance": "zap",
                    "state": "running",
                    "cpu_pct": 12.5,
                    "memory": {"pct": 25.0},
                    "disk": {"pct": 93.2},
                    "gateway": {"up": True, "latency_ms": 12.3},
                    "issues": [
                        {"severity": "critical", "code": "disk_high", "message": "disk / 93% used"}
                    ],
                }
            ),
            snapshot({"instance": "orb", "state": "unknown", "gateway": {"up": False}}),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "CPU", "MEM", "DISK", "GATEWAY", "ISSUES"]
    assert lines[1].split() == ["orb", "unknown", "-", "-", "-", "down", "ok"]
    assert lines[2].split() == ["zap", "running", "12%", "25%", "93%", "up", "12ms", "disk_high(c)"]
    assert lines[-1] == "  zap: critical disk_high: disk / 93% used"
    assert lines[0].index("STATE") == lines[1].index("unknown") == lines[2].index("running")


def test_an_empty_registry_says_so() -> None:
    assert "(no instances in the registry)" in format_table([])
