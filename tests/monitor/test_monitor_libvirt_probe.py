from __future__ import annotations

import asyncio
import re
import uuid

import libvirt
import pytest

from agentmon.monitor.libvirt_probe import DomainSample, LibvirtProbe
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.rates import domain_rates
from agentmon.monitor.registry import LibvirtTarget


@pytest.fixture
def probe() -> LibvirtProbe:
    return LibvirtProbe(timeout=5.0)


async def sample(probe: LibvirtProbe, uri: str, domain: str) -> DomainSample:
    outcome = await probe.sample(LibvirtTarget(uri, domain))
    assert isinstance(outcome, DomainSample), outcome
    return outcome


async def test_running_domain_has_counters_and_balloon_stats(probe, node_uri) -> None:
    web = await sample(probe, node_uri, "web")
    assert (web.state, web.vcpus, web.memory_kb) == ("running", 2, 2097152)
    assert web.balloon is not None and {"actual", "available", "unused"} <= set(web.balloon)
    assert web.io is not None and web.io.read_bytes >= 0
    assert web.net is not None and web.net.rx_bytes >= 0


async def test_paused_and_shut_off_domains(probe, node_uri) -> None:
    frozen = await sample(probe, node_uri, "frozen")
    off = await sample(probe, node_uri, "off")
    assert frozen.state == "paused"
    assert (off.state, off.balloon, off.io, off.net) == ("shutoff", None, None, None)


async def test_rates_between_two_polls(probe, node_uri) -> None:
    first = await sample(probe, node_uri, "web")
    await asyncio.sleep(0.05)
    second = await sample(probe, node_uri, "web")
    rates = domain_rates(first, second)
    assert rates.cpu_pct is not None and 0.0 <= rates.cpu_pct <= 100.0
    assert rates.rx_bps is not None and rates.rx_bps >= 0
    assert rates.read_bps is not None and rates.read_bps >= 0
    assert domain_rates(None, second).cpu_pct is None


async def test_a_domain_vanishing_between_polls(probe) -> None:
    admin = libvirt.open("test:///default")  # the test driver's process-wide shared node
    name = f"vanishing-{uuid.uuid4().hex[:8]}"
    xml = re.sub(r"<uuid>.*</uuid>", "", admin.lookupByName("test").XMLDesc())
    domain = admin.defineXML(xml.replace("<name>test</name>", f"<name>{name}</name>"))
    domain.create()
    try:
        assert (await sample(probe, "test:///default", name)).state == "running"
    finally:
        domain.destroy()
        domain.undefine()
    outcome = await probe.sample(LibvirtTarget("test:///default", name))
    assert outcome == ProbeFailure("libvirt_error", f"no domain named {name!r} at test:///default")
    admin.close()


async def test_a_wrong_uri_is_an_error_not_a_crash(probe) -> None:
    outcome = await probe.sample(LibvirtTarget("nosuchdriver:///system", "zap"))
    assert isinstance(outcome, ProbeFailure) and outcome.code == "libvirt_error"
    assert "nosuchdriver:///system" in outcome.message


async def test_a_hung_daemon_times_out_and_is_not_asked_again_while_hung(silent_libvirt_uri):
    probe = LibvirtProbe(timeout=0.5)
    target = LibvirtTarget(silent_libvirt_uri, "zap")
    first = await probe.sample(target)
    assert isinstance(first, ProbeFailure) and "did not answer within 0.5s" in first.message
    second = await probe.sample(target)
    assert isinstance(second, ProbeFailure) and "still has not answered" in second.message


async def test_a_sample_cancelled_as_libvirt_answers_is_cancelled(probe, node_uri) -> None:
    """A cancellation (the monitor stopping) that arrives in the loop turn the libvirt thread
    answers is not dropped (asyncio.wait_for on Python 3.11 returned the sample instead)."""
    target = LibvirtTarget(node_uri, "frozen")
    sampling = asyncio.create_task(probe.sample(target))
    await asyncio.sleep(0)  # the sample starts its libvirt thread and waits for it
    probe._in_flight[target][0].result(timeout=30)  # the loop is held until the thread answers
    sampling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sampling
