"""What the monitor reads inside a guest over SSH, and how the answer is parsed.

One shell script per poll prints every source under a ``@@<section>`` marker line, so a poll
costs one exec on an already open connection: /proc/loadavg, /proc/meminfo, /proc/uptime,
the first line of /proc/stat, ``df -P /`` and ``systemctl is-active`` for each service.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

MARKER = "@@"
SERVICE_STATES = frozenset(
    {
        "active",
        "inactive",
        "failed",
        "activating",
        "deactivating",
        "reloading",
        "refreshing",
        "maintenance",
        "unknown",
    }
)


@dataclass(frozen=True)
class GuestMemory:
    total_kb: int
    available_kb: int

    @property
    def used_kb(self) -> int:
        return max(self.total_kb - self.available_kb, 0)


@dataclass(frozen=True)
class GuestDisk:
    mount: str
    total_bytes: int
    used_bytes: int
    available_bytes: int

    @property
    def pct(self) -> float:
        """Share of the space a user can fill, as df reports it (root's reserve excluded)."""
        usable = self.used_bytes + self.available_bytes
        return round(100.0 * self.used_bytes / usable, 1) if usable else 0.0


@dataclass(frozen=True)
class ServiceState:
    state: str
    detail: str = ""
    """What systemctl said when the state is not one it normally prints."""


@dataclass(frozen=True)
class GuestCpu:
    """The guest kernel's CPU time counters (all CPUs together), in clock ticks."""

    busy: int
    total: int


@dataclass(frozen=True)
class GuestReport:
    load: tuple[float, float, float] | None = None
    cpu: GuestCpu | None = None
    memory: GuestMemory | None = None
    uptime_s: float | None = None
    disk: GuestDisk | None = None
    services: dict[str, ServiceState] = field(default_factory=dict)


def guest_script(services: tuple[str, ...]) -> str:
    lines = [
        f"for f in loadavg meminfo uptime; do echo {MARKER}$f; cat /proc/$f; done",
        f"echo {MARKER}cpu; head -n 1 /proc/stat",
        f"echo {MARKER}df; df -P /",
    ]
    for service in services:
        quoted = shlex.quote(service)
        lines.append(f"echo {MARKER}service {quoted}; systemctl is-active -- {quoted} 2>&1")
    return "\n".join(lines) + "\n"


def split_sections(output: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARKER):
            current = sections.setdefault(line[len(MARKER) :].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


def parse_guest_output(output: str, services: tuple[str, ...]) -> GuestReport:
    sections = split_sections(output)
    return GuestReport(
        load=parse_loadavg(sections.get("loadavg", [])),
        cpu=parse_cpu(sections.get("cpu", [])),
        memory=parse_meminfo(sections.get("meminfo", [])),
        uptime_s=parse_uptime(sections.get("uptime", [])),
        disk=parse_df(sections.get("df", [])),
        services={s: parse_service(sections.get(f"service {s}")) for s in services},
    )


def parse_loadavg(lines: list[str]) -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = (float(x) for x in lines[0].split()[:3])
    except (IndexError, ValueError):
        return None
    return (one, five, fifteen)


def parse_cpu(lines: list[str]) -> GuestCpu | None:
    """`cpu  user nice system idle iowait irq softirq steal ...` (guest time is in user)."""
    fields = lines[0].split() if lines else []
    if len(fields) < 5 or fields[0] != "cpu":
        return None
    try:
        ticks = [int(x) for x in fields[1:9]]
    except ValueError:
        return None
    idle = sum(ticks[3:5])
    return GuestCpu(busy=sum(ticks) - idle, total=sum(ticks))


def parse_meminfo(lines: list[str]) -> GuestMemory | None:
    values: dict[str, int] = {}
    for line in lines:
        key, _, rest = line.partition(":")
        number = rest.split()[:1]
        if number and number[0].isdigit():
            values[key.strip()] = int(number[0])
    total = values.get("MemTotal")
    if not total:
        return None
    available = values.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = sum(values.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    return GuestMemory(total_kb=total, available_kb=available)


def parse_uptime(lines: list[str]) -> float | None:
    try:
        return float(lines[0].split()[0])
    except (IndexError, ValueError):
        return None


def parse_df(lines: list[str]) -> GuestDisk | None:
    """`df -P /`: a header, then size, used and available in 1024-byte blocks."""
    if len(lines) < 2:
        return None
    fields = " ".join(lines[1:]).split()  # a long device name may wrap the line
    try:
        total, used, available = (int(x) * 1024 for x in fields[1:4])
    except (ValueError, IndexError):
        return None
    mount = fields[5] if len(fields) > 5 else "/"
    return GuestDisk(mount=mount, total_bytes=total, used_bytes=used, available_bytes=available)


def parse_service(lines: list[str] | None) -> ServiceState:
    if not lines:
        return ServiceState("unknown", "systemctl printed nothing")
    first = lines[0].strip()
    if first in SERVICE_STATES:
        return ServiceState(first)
    return ServiceState("unknown", " ".join(line.strip() for line in lines)[:200])
