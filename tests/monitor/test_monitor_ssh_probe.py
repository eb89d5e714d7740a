from __future__ import annotations

from pathlib import Path

import pytest

from agentmon.monitor.guest_stats import GuestReport
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import parse_entry
from agentmon.monitor.ssh_probe import SshProbe

SERVICES = ("agentmon-no-such-unit",)


def target(**ssh: object):
    spec = parse_entry("vm", {"name": "vm", "ssh": ssh})
    assert spec.ssh is not None, spec.problems
    return spec.ssh


@pytest.fixture
async def probe():
    probe = SshProbe(timeout=10.0)
    yield probe
    await probe.close()


async def test_guest_figures_over_one_kept_connection(probe, sshd) -> None:
    first = await probe.report("vm", target(**sshd.entry()), SERVICES)
    second = await probe.report("vm", target(**sshd.entry()), SERVICES)
    for report in (first, second):
        assert isinstance(report, GuestReport), report
        assert report.memory is not None and report.memory.total_kb > 0
        assert report.disk is not None and report.disk.total_bytes > 0
        assert report.load is not None and report.uptime_s is not None
        assert report.services["agentmon-no-such-unit"].state != "active"
    assert probe.connects == 1


async def test_reconnects_after_the_server_drops_the_session(probe, sshd) -> None:
    assert isinstance(await probe.report("vm", target(**sshd.entry()), ()), GuestReport)
    assert sshd.drop_sessions() >= 1
    outcomes = [await probe.report("vm", target(**sshd.entry()), ()) for _ in range(2)]
    assert isinstance(outcomes[-1], GuestReport), outcomes
    assert probe.connects == 2


async def test_wrong_key_is_an_auth_failure(probe, sshd) -> None:
    outcome = await probe.report("vm", target(**sshd.entry(key=str(sshd.wrong_key))), ())
    assert isinstance(outcome, ProbeFailure) and outcome.code == "ssh_auth_failed"


async def test_missing_key_file_is_an_auth_failure(probe, sshd, tmp_path: Path) -> None:
    missing = tmp_path / "id_missing"
    outcome = await probe.report("vm", target(**sshd.entry(key=str(missing))), ())
    assert outcome == ProbeFailure("ssh_auth_failed", f"ssh key file {missing} not found")


async def test_untrusted_host_key_is_refused(probe, sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    outcome = await probe.report("vm", target(**sshd.entry(known_hosts=str(empty))), ())
    assert isinstance(outcome, ProbeFailure) and outcome.code == "ssh_host_key_rejected"


async def test_closed_port_is_unreachable(probe, closed_port) -> None:
    outcome = await probe.report("vm", target(host="127.0.0.1", port=closed_port), ())
    assert isinstance(outcome, ProbeFailure) and outcome.code == "ssh_unreachable"


async def test_a_silent_server_times_out(silent_tcp_port) -> None:
    probe = SshProbe(timeout=0.5)
    outcome = await probe.report("vm", target(host="127.0.0.1", port=silent_tcp_port), ())
    assert outcome == ProbeFailure(
        "ssh_unreachable", f"ssh 127.0.0.1:{silent_tcp_port}: no answer within 0.5s"
    )
    await probe.close()
