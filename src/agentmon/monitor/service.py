"""The monitor loop: every interval, probe every registered instance at once and emit.

Within a poll every instance, and within an instance every step (libvirt, SSH, gateway),
runs concurrently under its own time limit, so a hung VM delays nothing but its own figures.
Failures of a probe, a registry entry or the sink are logged and reported as data; the loop
itself only stops when it is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from agentmon.client.sink import Sink
from agentmon.events import Envelope
from agentmon.monitor.gateway_probe import GatewayProbe, GatewayResult
from agentmon.monitor.guest_stats import GuestCpu, GuestReport
from agentmon.monitor.libvirt_probe import (
    LIBVIRT_OFF,
    DomainSample,
    LibvirtProbe,
    libvirt_available,
)
from agentmon.monitor.observation import LibvirtOutcome, Observation
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.rates import DomainRates, domain_rates, guest_cpu_pct
from agentmon.monitor.registry import InstanceSpec, Registry, RegistryWatcher
from agentmon.monitor.snapshot import snapshot_event
from agentmon.monitor.ssh_probe import SshProbe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepTimeouts:
    libvirt: float = 10.0
    ssh: float = 10.0
    """Connecting (when needed) and running the guest commands, together."""
    gateway: float = 5.0
    sink: float = 30.0


class MonitorService:
    def __init__(
        self,
        registry_path: Path,
        interval: float,
        sink: Sink,
        *,
        timeouts: StepTimeouts | None = None,
    ) -> None:
        self.interval = interval
        self.sink = sink
        self.timeouts = timeouts or StepTimeouts()
        self.watcher = RegistryWatcher(registry_path)
        self.libvirt = LibvirtProbe(self.timeouts.libvirt) if libvirt_available() else None
        self.ssh = SshProbe(self.timeouts.ssh)
        self.gateway = GatewayProbe(self.timeouts.gateway)
        self.last_delivery_error: str | None = None
        self._previous = PollMemory()
        if self.libvirt is None:
            log.warning(
                "libvirt-python is not installed: libvirt checks are off "
                "(SSH and gateway checks still run)"
            )

    async def run(self) -> None:
        """Poll every `interval` seconds until cancelled, then close every connection.

        Every time limit below is `asyncio.timeout`, never `asyncio.wait_for`: on Python 3.11
        a wait_for cancelled in the loop turn its awaitable finishes returns the result and
        drops the cancellation, and the monitor polled on after SIGTERM."""
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.poll_once()
                except Exception:  # a bug in one poll must not end the monitoring
                    log.exception("poll failed; trying again at the next interval")
                await asyncio.sleep(max(self.interval - (time.monotonic() - started), 0.0))
        finally:
            await self.close()

    async def poll_once(self) -> list[Envelope]:
        """Probe every instance once, hand the snapshots to the sink, and return them."""
        registry = self.watcher.current()
        self._forget_removed(registry)
        observations = await asyncio.gather(*(self._observe(s) for s in registry.instances))
        events = [snapshot_event(observation) for observation in observations]
        if events:
            await self._deliver(events)
        return events

    async def close(self) -> None:
        await self.ssh.close()
        await self.gateway.close()
        if self.libvirt is not None:
            self.libvirt.close()

    async def _observe(self, spec: InstanceSpec) -> Observation:
        domain, guest, gateway = await asyncio.gather(
            self._libvirt_step(spec), self._ssh_step(spec), self._gateway_step(spec)
        )
        observation = Observation(spec=spec, domain=domain, guest=guest, gateway=gateway)
        return self._previous.complete(observation)

    async def _libvirt_step(self, spec: InstanceSpec) -> LibvirtOutcome:
        if spec.libvirt is None:
            return None
        if self.libvirt is None:
            return LIBVIRT_OFF
        outcome = await self.libvirt.sample(spec.libvirt)
        _log_failure(spec, outcome)
        return outcome

    async def _ssh_step(self, spec: InstanceSpec) -> GuestReport | ProbeFailure | None:
        if spec.ssh is None:
            return None
        outcome = await self.ssh.report(spec.name, spec.ssh, spec.services)
        _log_failure(spec, outcome)
        return outcome

    async def _gateway_step(self, spec: InstanceSpec) -> GatewayResult | None:
        if spec.gateway is None:
            return None
        result = await self.gateway.check(spec.gateway)
        _log_failure(spec, result.failure)
        return result

    async def _deliver(self, events: list[Envelope]) -> None:
        try:
            async with asyncio.timeout(self.timeouts.sink):
                await self.sink(events)
        except Exception as exc:  # the sink's trouble must not stop the monitor
            self.last_delivery_error = " ".join(str(exc).split()) or type(exc).__name__
            log.warning(
                "could not deliver %d snapshot(s): %s", len(events), self.last_delivery_error
            )
        else:
            self.last_delivery_error = None

    def _forget_removed(self, registry: Registry) -> None:
        names = {spec.name for spec in registry.instances}
        for name in self._previous.names() - names:
            log.info("instance %s left the registry", name)
            self._previous.forget(name)
            self.ssh.forget(name)


class PollMemory:
    """What a poll needs from the earlier ones: the last counters and the last success."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: dict[str, DomainSample] = {}
        self._guest_cpu: dict[str, GuestCpu] = {}
        self._last_success: dict[str, float] = {}

    def names(self) -> set[str]:
        return set(self._last_success)

    def complete(self, observation: Observation) -> Observation:
        """Add the rates since the previous poll and the time since data last came in."""
        name, now = observation.spec.name, self._clock()
        if observation.any_check_succeeded or name not in self._last_success:
            self._last_success[name] = now
        return replace(
            observation,
            rates=self._rates(name, observation),
            seconds_without_data=now - self._last_success[name],
        )

    def _rates(self, name: str, observation: Observation) -> DomainRates:
        rates = DomainRates()
        sample = observation.sample
        if sample is not None:
            rates = domain_rates(self._samples.get(name), sample)
            self._samples[name] = sample
        report = observation.report
        if report is not None and report.cpu is not None:
            guest_pct = guest_cpu_pct(self._guest_cpu.get(name), report.cpu)
            self._guest_cpu[name] = report.cpu
            if rates.cpu_pct is None and guest_pct is not None:
                rates = replace(rates, cpu_pct=guest_pct)
        return rates

    def forget(self, name: str) -> None:
        self._samples.pop(name, None)
        self._guest_cpu.pop(name, None)
        self._last_success.pop(name, None)


def _log_failure(spec: InstanceSpec, outcome: object) -> None:
    if isinstance(outcome, ProbeFailure):
        log.warning("instance %s: %s: %s", spec.name, outcome.code, outcome.message)
