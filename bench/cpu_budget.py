"""The CPU every process of a benchmark run spends per event, and the rate that allows.

A run's events/s moves with whatever else the shared machine is doing; the CPU seconds each
process spends per event barely does. Their sum over every process the run needs (servers,
load generator, database, bus) bounds the rate on this machine: even with the cores fully
and perfectly shared out, `cores / (CPU per event)` is the most it can do at that cost.
"""

from __future__ import annotations

import os


def describe(shares: dict[str, float], unit: str = "event") -> str:
    """'server 41 µs + client 14 µs = 55 µs: 2 cores allow at most 36,364 events/s'."""
    total = sum(shares.values())
    parts = " + ".join(f"{name} {seconds * 1e6:.0f} µs" for name, seconds in shares.items())
    return f"{parts} = {total * 1e6:.0f} µs per {unit}: {ceiling(total, unit)}"


def ceiling(seconds_per_item: float, unit: str = "event") -> str:
    cores = os.cpu_count() or 1
    return f"{cores} cores allow at most {cores / seconds_per_item:,.0f} {unit}s/s at this cost"
