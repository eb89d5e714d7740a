"""Everything one poll learned about one instance, before it becomes a snapshot payload."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentmon.monitor.gateway_probe import GatewayResult
from agentmon.monitor.guest_stats import GuestReport
from agentmon.monitor.libvirt_probe import DomainSample
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.rates import DomainRates
from agentmon.monitor.registry import InstanceSpec

LibvirtOutcome = DomainSample | ProbeFailure | str | None
"""A sample, a failure, a reason the check is off (str), or None when it is not configured."""


@dataclass(frozen=True)
class Observation:
    spec: InstanceSpec
    domain: LibvirtOutcome = None
    rates: DomainRates = field(default_factory=DomainRates)
    """CPU, I/O and network rates since the previous poll (empty on the first)."""
    guest: GuestReport | ProbeFailure | None = None
    gateway: GatewayResult | None = None
    seconds_without_data: float = 0.0
    """Time since any check of this instance last succeeded (or since monitoring began)."""

    @property
    def sample(self) -> DomainSample | None:
        return self.domain if isinstance(self.domain, DomainSample) else None

    @property
    def report(self) -> GuestReport | None:
        return self.guest if isinstance(self.guest, GuestReport) else None

    @property
    def any_check_succeeded(self) -> bool:
        gateway_up = self.gateway is not None and self.gateway.up
        return self.sample is not None or self.report is not None or gateway_up
