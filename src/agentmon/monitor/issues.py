"""Turn what a poll observed into the issues a person acts on.

Each issue has a severity (critical or warning), a stable code and one sentence. When libvirt
says the VM is not running, the SSH and gateway failures that follow from it are not raised
as issues of their own: the VM's state is the thing to act on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from agentmon.monitor.memory import MemoryFigures
from agentmon.monitor.observation import Observation
from agentmon.monitor.outcome import ProbeFailure

CRITICAL = "critical"
WARNING = "warning"

DISK_CRITICAL_PCT = 90.0
DISK_WARNING_PCT = 80.0
MEMORY_AVAILABLE_MIN_PCT = 10.0
STALE_AFTER_S = 300.0

_STOPPED_STATES = {
    "shutoff": CRITICAL,
    "crashed": CRITICAL,
    "paused": WARNING,
    "pmsuspended": WARNING,
    "unknown": WARNING,
}
_TRANSITIONAL_SERVICE_STATES = frozenset({"activating", "deactivating", "reloading", "refreshing"})


@dataclass(frozen=True)
class Issue:
    severity: str
    code: str
    message: str

    def payload(self) -> dict[str, str]:
        return asdict(self)


def derive_issues(observation: Observation, memory: MemoryFigures | None) -> list[Issue]:
    issues = [
        Issue(WARNING, "bad_registry_entry", f"registry entry: {problem}")
        for problem in observation.spec.problems
    ]
    vm_down = _vm_issue(observation)
    if vm_down is not None:
        issues.append(vm_down)
    issues += _failure_issues(observation, consequences_of_vm_down=vm_down is not None)
    issues += _guest_issues(observation, memory)
    if observation.seconds_without_data > STALE_AFTER_S:
        minutes = observation.seconds_without_data / 60
        issues.append(Issue(CRITICAL, "stale", f"no successful check for {minutes:.0f} min"))
    return issues


def _vm_issue(observation: Observation) -> Issue | None:
    sample = observation.sample
    if sample is None or sample.state not in _STOPPED_STATES:
        return None
    return Issue(
        _STOPPED_STATES[sample.state],
        "vm_not_running",
        f"VM {observation.spec.name} is {sample.state}",
    )


def _failure_issues(observation: Observation, consequences_of_vm_down: bool) -> list[Issue]:
    failures: list[ProbeFailure] = []
    if isinstance(observation.domain, ProbeFailure):
        failures.append(observation.domain)
    if not consequences_of_vm_down:
        if isinstance(observation.guest, ProbeFailure):
            failures.append(observation.guest)
        if observation.gateway is not None and observation.gateway.failure is not None:
            failures.append(observation.gateway.failure)
    return [Issue(CRITICAL, failure.code, failure.message) for failure in failures]


def _guest_issues(observation: Observation, memory: MemoryFigures | None) -> list[Issue]:
    issues: list[Issue] = []
    report = observation.report
    disk = report.disk if report is not None else None
    if disk is not None and disk.pct > DISK_WARNING_PCT:
        severity = CRITICAL if disk.pct > DISK_CRITICAL_PCT else WARNING
        issues.append(Issue(severity, "disk_high", f"disk {disk.mount} {disk.pct:.0f}% used"))
    available = memory.available_pct if memory is not None else None
    if available is not None and available < MEMORY_AVAILABLE_MIN_PCT:
        issues.append(Issue(CRITICAL, "memory_low", f"only {available:.1f}% of memory available"))
    for service, state in (report.services if report is not None else {}).items():
        if state.state == "active":
            continue
        severity = WARNING if state.state in _TRANSITIONAL_SERVICE_STATES else CRITICAL
        said = f" ({state.detail})" if state.detail else ""
        issues.append(Issue(severity, "service_inactive", f"{service} is {state.state}{said}"))
    return issues
