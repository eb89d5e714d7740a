from __future__ import annotations

from agentmon.monitor.gateway_probe import GatewayResult
from agentmon.monitor.guest_stats import GuestDisk, GuestMemory, GuestReport, ServiceState
from agentmon.monitor.issues import Issue, derive_issues
from agentmon.monitor.libvirt_probe import DomainSample
from agentmon.monitor.memory import memory_figures
from agentmon.monitor.observation import Observation
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import InstanceSpec

SPEC = InstanceSpec("zap")
SSH_DOWN = ProbeFailure("ssh_unreachable", "ssh zap:22: Connection refused")
GATEWAY_DOWN = GatewayResult(
    "http://zap/", up=False, failure=ProbeFailure("gateway_down", "gateway http://zap/ unreachable")
)


def domain(state: str, balloon: dict[str, int] | None = None) -> DomainSample:
    return DomainSample(0.0, state, 2, 0, 4194304, balloon, None, None)


def guest(disk_pct_used: int = 50, available_kb: int = 500, **services: str) -> GuestReport:
    disk = GuestDisk("/", 100 * 1024, disk_pct_used * 1024, (100 - disk_pct_used) * 1024)
    return GuestReport(
        memory=GuestMemory(1000, available_kb),
        disk=disk,
        services={name: ServiceState(state) for name, state in services.items()},
    )


def codes(observation: Observation) -> list[tuple[str, str]]:
    memory = memory_figures(observation.sample, observation.report)
    return [(i.severity, i.code) for i in derive_issues(observation, memory)]


def test_a_healthy_instance_has_no_issues() -> None:
    assert codes(Observation(SPEC, domain("running"), guest=guest(gateway="active"))) == []


def test_disk_thresholds() -> None:
    assert codes(Observation(SPEC, guest=guest(disk_pct_used=85))) == [("warning", "disk_high")]
    assert codes(Observation(SPEC, guest=guest(disk_pct_used=95))) == [("critical", "disk_high")]
    assert codes(Observation(SPEC, guest=guest(disk_pct_used=80))) == []


def test_memory_low_from_the_guest_and_from_balloon_stats() -> None:
    assert codes(Observation(SPEC, guest=guest(available_kb=90))) == [("critical", "memory_low")]
    balloon = {"actual": 1000, "available": 1000, "unused": 50, "usable": 50}
    assert codes(Observation(SPEC, domain("running", balloon))) == [("critical", "memory_low")]


def test_a_stopped_vm_hides_the_failures_it_causes() -> None:
    observation = Observation(SPEC, domain("shutoff"), guest=SSH_DOWN, gateway=GATEWAY_DOWN)
    assert codes(observation) == [("critical", "vm_not_running")]
    assert codes(Observation(SPEC, domain("paused"))) == [("warning", "vm_not_running")]


def test_probe_failures_without_a_libvirt_verdict_are_raised() -> None:
    lost = ProbeFailure("libvirt_error", "no domain named 'zap' at qemu:///system")
    observation = Observation(SPEC, lost, guest=SSH_DOWN, gateway=GATEWAY_DOWN)
    assert codes(observation) == [
        ("critical", "libvirt_error"),
        ("critical", "ssh_unreachable"),
        ("critical", "gateway_down"),
    ]


def test_services_registry_problems_and_staleness() -> None:
    spec = InstanceSpec("zap", problems=("ssh: 'host' is required",))
    observation = Observation(
        spec, guest=guest(a="active", b="failed", c="activating"), seconds_without_data=301.0
    )
    assert codes(observation) == [
        ("warning", "bad_registry_entry"),
        ("critical", "service_inactive"),
        ("warning", "service_inactive"),
        ("critical", "stale"),
    ]
    issues = derive_issues(observation, None)
    assert Issue("critical", "service_inactive", "b is failed") in issues
    assert Issue("critical", "stale", "no successful check for 5 min") in issues
