"""An Observation → the `openclaw.snapshot` payload and envelope (docs/events.md contract)."""

from __future__ import annotations

from typing import Any

from agentmon.events import Envelope, EventType, new_event
from agentmon.monitor.guest_stats import GuestReport
from agentmon.monitor.issues import derive_issues
from agentmon.monitor.libvirt_probe import DomainSample
from agentmon.monitor.memory import memory_figures
from agentmon.monitor.observation import Observation
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.rates import DomainRates

FRAMEWORK = "openclaw"


def snapshot_event(observation: Observation) -> Envelope:
    name = observation.spec.name
    return new_event(
        EventType.OPENCLAW_SNAPSHOT,
        framework=FRAMEWORK,
        client_id=name,
        host=name,
        payload=snapshot_payload(observation),
    )


def snapshot_payload(observation: Observation) -> dict[str, Any]:
    sample, report = observation.sample, observation.report
    memory = memory_figures(sample, report)
    payload: dict[str, Any] = {"instance": observation.spec.name, "state": _state(observation)}
    if sample is not None:
        payload.update(_domain_fields(sample, observation.rates))
    if observation.rates.cpu_pct is not None:
        payload["cpu_pct"] = observation.rates.cpu_pct
    if memory is not None:
        payload["memory"] = memory.payload()
    if report is not None:
        payload.update(_guest_fields(report))
    if observation.gateway is not None:
        payload["gateway"] = observation.gateway.payload()
    payload["checks"] = _checks(observation)
    payload["issues"] = [issue.payload() for issue in derive_issues(observation, memory)]
    return payload


def _state(observation: Observation) -> str:
    if observation.sample is not None:
        return observation.sample.state
    if observation.report is not None:
        return "running"  # libvirt not checked, but the guest answered over SSH
    return "unknown"


def _domain_fields(sample: DomainSample, rates: DomainRates) -> dict[str, Any]:
    fields: dict[str, Any] = {"vcpus": sample.vcpus}
    if sample.net is not None:
        fields["net"] = _present(
            rx_bps=rates.rx_bps,
            tx_bps=rates.tx_bps,
            rx_errs=sample.net.rx_errs,
            tx_errs=sample.net.tx_errs,
        )
    if sample.io is not None:
        fields["io"] = _present(read_bps=rates.read_bps, write_bps=rates.write_bps)
    return fields


def _guest_fields(report: GuestReport) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if report.uptime_s is not None:
        fields["uptime_s"] = round(report.uptime_s)
    if report.disk is not None:
        disk = report.disk
        fields["disk"] = {
            "used_bytes": disk.used_bytes,
            "total_bytes": disk.total_bytes,
            "pct": disk.pct,
            "mount": disk.mount,
        }
    if report.load is not None:
        fields["load"] = list(report.load)
    if report.services:
        fields["services"] = {name: state.state for name, state in report.services.items()}
    return fields


def _present(**values: float | None) -> dict[str, float]:
    """Rates are absent (not null) on the first poll of a domain."""
    return {key: value for key, value in values.items() if value is not None}


def _checks(observation: Observation) -> dict[str, str]:
    checks: dict[str, str] = {}
    domain = observation.domain
    if isinstance(domain, str):
        checks["libvirt"] = domain
    elif domain is not None:
        checks["libvirt"] = _check_value(domain)
    if observation.guest is not None:
        checks["ssh"] = _check_value(observation.guest)
    if observation.gateway is not None:
        failure = observation.gateway.failure
        checks["gateway"] = failure.check if failure is not None else "ok"
    return checks


def _check_value(outcome: object) -> str:
    return outcome.check if isinstance(outcome, ProbeFailure) else "ok"
