"""Memory of an instance: the guest's own /proc/meminfo when SSH works, else balloon stats.

Balloon figures exist only when the guest runs the virtio balloon driver and the domain has a
stats period set; without them libvirt reports just 'actual' and 'rss', and the memory use is
reported as missing rather than guessed from the host's view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentmon.monitor.guest_stats import GuestReport
from agentmon.monitor.libvirt_probe import DomainSample

BALLOON_MISSING = (
    "missing: the guest reports no balloon stats (needs the virtio balloon driver and a "
    "stats period) and SSH gave no /proc/meminfo"
)


@dataclass(frozen=True)
class MemoryFigures:
    assigned_kb: int | None
    used_kb: int | None = None
    available_kb: int | None = None
    total_kb: int | None = None
    """What the guest sees as its total (the base of the percentages)."""
    source: str = "missing"

    @property
    def used_pct(self) -> float | None:
        if self.used_kb is None or not self.total_kb:
            return None
        return round(100.0 * self.used_kb / self.total_kb, 1)

    @property
    def available_pct(self) -> float | None:
        if self.available_kb is None or not self.total_kb:
            return None
        return round(100.0 * self.available_kb / self.total_kb, 1)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"source": self.source}
        if self.assigned_kb is not None:
            body["assigned_kb"] = self.assigned_kb
        if self.used_kb is not None:
            body["used_kb"] = self.used_kb
            body["available_kb"] = self.available_kb
            body["pct"] = self.used_pct
        else:
            body["note"] = BALLOON_MISSING
        return body


def memory_figures(sample: DomainSample | None, report: GuestReport | None) -> MemoryFigures | None:
    assigned = _assigned_kb(sample)
    if report is not None and report.memory is not None:
        guest = report.memory
        return MemoryFigures(
            assigned_kb=assigned if assigned is not None else guest.total_kb,
            used_kb=guest.used_kb,
            available_kb=guest.available_kb,
            total_kb=guest.total_kb,
            source="guest",
        )
    balloon = sample.balloon if sample is not None else None
    if balloon and "available" in balloon and "unused" in balloon:
        total = balloon["available"]
        free = balloon.get("usable", balloon["unused"])
        return MemoryFigures(
            assigned_kb=assigned,
            used_kb=max(total - free, 0),
            available_kb=free,
            total_kb=total,
            source="balloon",
        )
    if sample is None:
        return None
    return MemoryFigures(assigned_kb=assigned)


def _assigned_kb(sample: DomainSample | None) -> int | None:
    if sample is None:
        return None
    if sample.balloon and "actual" in sample.balloon:
        return sample.balloon["actual"]
    return sample.memory_kb
