"""A plain-text table of snapshots for a terminal (`openclaw-monitor --once`)."""

from __future__ import annotations

from typing import Any

from agentmon.events import Envelope

COLUMNS = ("NAME", "STATE", "CPU", "MEM", "DISK", "GATEWAY", "ISSUES")


def format_table(snapshots: list[Envelope]) -> str:
    """One row per instance, then one line per issue with its full message."""
    payloads = sorted((envelope.payload for envelope in snapshots), key=lambda p: p["instance"])
    rows = [COLUMNS, *(_row(payload) for payload in payloads)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    details = [
        f"  {payload['instance']}: {issue['severity']} {issue['code']}: {issue['message']}"
        for payload in payloads
        for issue in payload.get("issues", [])
    ]
    if not payloads:
        lines.append("(no instances in the registry)")
    return "\n".join(lines + (["", *details] if details else [])) + "\n"


def _row(payload: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(payload["instance"]),
        str(payload.get("state", "unknown")),
        _pct(payload.get("cpu_pct")),
        _pct(payload.get("memory", {}).get("pct")),
        _pct(payload.get("disk", {}).get("pct")),
        _gateway(payload.get("gateway")),
        _issues(payload.get("issues", [])),
    )


def _pct(value: object) -> str:
    return f"{value:.0f}%" if isinstance(value, int | float) else "-"


def _gateway(gateway: dict[str, Any] | None) -> str:
    if gateway is None:
        return "-"
    if not gateway.get("up"):
        return "down"
    latency = gateway.get("latency_ms")
    return f"up {latency:.0f}ms" if isinstance(latency, int | float) else "up"


def _issues(issues: list[dict[str, str]]) -> str:
    if not issues:
        return "ok"
    return ", ".join(f"{issue['code']}({issue['severity'][0]})" for issue in issues)
