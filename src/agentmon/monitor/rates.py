"""Rates between two consecutive polls of one instance.

From libvirt: CPU, block and network rates of a domain. From the guest (/proc/stat over SSH):
its CPU use, used when libvirt gives none. Counters that went backwards (a restart) or
samples of a stopped domain give no rate for that poll rather than a nonsense figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agentmon.monitor.guest_stats import GuestCpu
from agentmon.monitor.libvirt_probe import ACTIVE_STATES, DomainSample


@dataclass(frozen=True)
class DomainRates:
    cpu_pct: float | None = None
    """CPU time used as a share of the allocated vCPUs, 0-100."""
    read_bps: float | None = None
    write_bps: float | None = None
    rx_bps: float | None = None
    tx_bps: float | None = None


def domain_rates(previous: DomainSample | None, current: DomainSample) -> DomainRates:
    if previous is None or current.state not in ACTIVE_STATES:
        return DomainRates()
    elapsed = current.taken_at - previous.taken_at
    if elapsed <= 0:
        return DomainRates()
    rates = DomainRates(cpu_pct=_cpu_pct(previous, current, elapsed))
    if previous.io and current.io:
        rates = replace(
            rates,
            read_bps=_rate(previous.io.read_bytes, current.io.read_bytes, elapsed),
            write_bps=_rate(previous.io.write_bytes, current.io.write_bytes, elapsed),
        )
    if previous.net and current.net:
        rates = replace(
            rates,
            rx_bps=_rate(previous.net.rx_bytes, current.net.rx_bytes, elapsed),
            tx_bps=_rate(previous.net.tx_bytes, current.net.tx_bytes, elapsed),
        )
    return rates


def guest_cpu_pct(previous: GuestCpu | None, current: GuestCpu | None) -> float | None:
    """Busy share of all the guest's CPUs between two readings of /proc/stat, 0-100."""
    if previous is None or current is None:
        return None
    total = current.total - previous.total
    busy = current.busy - previous.busy
    if total <= 0 or busy < 0:
        return None
    return round(min(100.0 * busy / total, 100.0), 1)


def _cpu_pct(previous: DomainSample, current: DomainSample, elapsed: float) -> float | None:
    used_ns = current.cpu_time_ns - previous.cpu_time_ns
    if used_ns < 0 or current.vcpus <= 0:
        return None
    share = 100.0 * used_ns / (elapsed * 1e9 * current.vcpus)
    return round(min(max(share, 0.0), 100.0), 1)


def _rate(before: int, after: int, elapsed: float) -> float | None:
    if after < before:
        return None
    return round((after - before) / elapsed, 1)
