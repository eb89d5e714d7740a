from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from typing import Any

import libvirt
import pytest

from agentmon.events import Envelope, validate_event
from agentmon.monitor import MonitorService, StepTimeouts
from agentmon.monitor.observation import Observation
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import InstanceSpec
from agentmon.monitor.service import PollMemory
from agentmon.monitor.snapshot import snapshot_payload

CONTRACT_KEYS = {
    "instance",
    "state",
    "uptime_s",
    "vcpus",
    "cpu_pct",
    "memory",
    "disk",
    "net",
    "load",
    "gateway",
    "services",
    "checks",
    "issues",
}
EXTRA_KEYS = {"io"}  # block I/O rates: documented in docs/monitor.md


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[Envelope]] = []
        self.failure: Exception | None = None

    async def __call__(self, events: list[Envelope]) -> None:
        if self.failure is not None:
            raise self.failure
        self.batches.append(events)


def by_name(events: list[Envelope]) -> dict[str, dict[str, Any]]:
    return {event.payload["instance"]: event.payload for event in events}


@pytest.fixture
def fleet(node_uri, sshd, gateway_server, closed_port) -> list[dict[str, Any]]:
    return [
        {
            "name": "web",
            "libvirt": {"uri": node_uri},
            "ssh": sshd.entry(),
            "gateway": {"url": gateway_server.url},
            "services": ["agentmon-no-such-unit"],
        },
        {"name": "frozen", "libvirt": {"uri": node_uri}},
        {
            "name": "off",
            "libvirt": {"uri": node_uri},
            "gateway": {"url": f"http://127.0.0.1:{closed_port}/"},
        },
        {"name": "ghost", "libvirt": {"uri": node_uri}},
    ]


@pytest.fixture
async def service(registry_file):
    sink = ListSink()
    service = MonitorService(
        registry_file.path, 30.0, sink, timeouts=StepTimeouts(libvirt=10, ssh=10, gateway=5)
    )
    yield service
    await service.close()


async def test_one_valid_snapshot_per_instance_goes_to_the_sink(service, registry_file, fleet):
    registry_file.write(fleet)
    events = await service.poll_once()
    assert service.sink.batches == [events]
    assert sorted(by_name(events)) == ["frozen", "ghost", "off", "web"]
    for event in events:
        validate_event(event)
        assert event.type == "openclaw.snapshot"
        assert event.event.source.framework == "openclaw"
        assert event.event.source.client_id == event.event.source.host == event.payload["instance"]
        assert set(event.payload) <= CONTRACT_KEYS | EXTRA_KEYS


async def test_a_healthy_running_instance_reports_everything(service, registry_file, fleet):
    registry_file.write(fleet)
    await service.poll_once()
    await asyncio.sleep(0.05)
    web = by_name(await service.poll_once())["web"]
    assert web["state"] == "running" and web["vcpus"] == 2
    assert web["checks"] == {"libvirt": "ok", "ssh": "ok", "gateway": "ok"}
    assert 0.0 <= web["cpu_pct"] <= 100.0
    assert web["memory"]["source"] == "guest" and web["memory"]["assigned_kb"] == 2097152
    assert 0 < web["memory"]["pct"] < 100
    assert web["disk"]["mount"] == "/" and web["disk"]["total_bytes"] > 0
    assert set(web["net"]) == {"rx_bps", "tx_bps", "rx_errs", "tx_errs"}
    assert len(web["load"]) == 3 and web["uptime_s"] > 0
    assert web["gateway"]["up"] is True and web["gateway"]["status_code"] == 200
    assert web["services"]["agentmon-no-such-unit"] != "active"
    assert [issue["code"] for issue in web["issues"]] == ["service_inactive"]


async def test_without_libvirt_the_guest_gives_state_and_cpu(service, registry_file, sshd):
    registry_file.write([{"name": "guest-only", "libvirt": False, "ssh": sshd.entry()}])
    first = by_name(await service.poll_once())["guest-only"]
    await asyncio.sleep(0.2)  # /proc/stat counts in 10 ms ticks
    second = by_name(await service.poll_once())["guest-only"]
    assert "cpu_pct" not in first  # a rate needs two readings
    assert second["state"] == "running" and second["checks"] == {"ssh": "ok"}
    assert 0.0 <= second["cpu_pct"] <= 100.0
    assert "vcpus" not in second and second["memory"]["source"] == "guest"


async def test_stopped_paused_and_missing_domains(service, registry_file, fleet):
    registry_file.write(fleet)
    snapshots = by_name(await service.poll_once())
    assert snapshots["off"]["state"] == "shutoff"
    assert snapshots["off"]["checks"]["gateway"].startswith("error: ")
    assert [i["code"] for i in snapshots["off"]["issues"]] == ["vm_not_running"]
    assert snapshots["frozen"]["state"] == "paused"
    assert snapshots["ghost"]["state"] == "unknown"
    assert snapshots["ghost"]["issues"] == [
        {
            "severity": "critical",
            "code": "libvirt_error",
            "message": f"no domain named 'ghost' at {fleet[0]['libvirt']['uri']}",
        }
    ]


async def test_a_domain_undefined_between_polls_becomes_an_issue(service, registry_file):
    admin = libvirt.open("test:///default")  # the test driver's process-wide shared node
    name = f"fleeting-{uuid.uuid4().hex[:8]}"
    xml = re.sub(r"<uuid>.*</uuid>", "", admin.lookupByName("test").XMLDesc())
    domain = admin.defineXML(xml.replace("<name>test</name>", f"<name>{name}</name>"))
    domain.create()
    registry_file.write([{"name": name, "libvirt": {"uri": "test:///default"}}])
    try:
        before = by_name(await service.poll_once())[name]
    finally:
        domain.destroy()
        domain.undefine()
        admin.close()
    after = by_name(await service.poll_once())[name]
    assert before["state"] == "running" and before["issues"] == []
    assert after["state"] == "unknown" and "vcpus" not in after
    assert [issue["code"] for issue in after["issues"]] == ["libvirt_error"]
    assert after["checks"]["libvirt"] == f"error: no domain named {name!r} at test:///default"


async def test_a_hung_instance_does_not_hold_up_the_others(
    registry_file, fleet, gateway_server, silent_tcp_port, silent_libvirt_uri
):
    hung = {
        "name": "hung",
        "libvirt": {"uri": silent_libvirt_uri},
        "ssh": {"host": "127.0.0.1", "port": silent_tcp_port, "known_hosts": None},
        "gateway": {"url": gateway_server.url + "hang"},
    }
    service = MonitorService(
        registry_file.path,
        30.0,
        ListSink(),
        timeouts=StepTimeouts(libvirt=2.0, ssh=4.0, gateway=2.0),
    )
    registry_file.write(fleet)
    await service.poll_once()  # a running monitor has its SSH connections open already
    registry_file.write([*fleet, hung])
    snapshots = by_name(await service.poll_once())
    await service.close()
    # Each hung step would answer after 10 s; the messages show the poll ended at its limits.
    assert snapshots["web"]["checks"] == {"libvirt": "ok", "ssh": "ok", "gateway": "ok"}
    checks = snapshots["hung"]["checks"]
    assert checks["libvirt"].endswith("did not answer within 2s")
    assert checks["ssh"].endswith("no answer within 4s")
    assert checks["gateway"].endswith("did not answer within 2s")
    assert {i["code"] for i in snapshots["hung"]["issues"]} == {
        "libvirt_error",
        "ssh_unreachable",
        "gateway_down",
    }


async def test_the_registry_is_reloaded_when_it_changes(service, registry_file, fleet):
    registry_file.write(fleet[:1])
    assert list(by_name(await service.poll_once())) == ["web"]
    bad = {"name": "bad", "libvirt": False, "ssh": {"port": 22}}
    registry_file.write([*fleet[1:3], {"libvirt": {}}, bad])
    snapshots = by_name(await service.poll_once())
    assert sorted(snapshots) == ["bad", "frozen", "off"]
    assert snapshots["bad"]["issues"] == [
        {
            "severity": "warning",
            "code": "bad_registry_entry",
            "message": "registry entry: ssh: 'host' is required",
        }
    ]


async def test_a_failing_sink_is_logged_and_polling_goes_on(service, registry_file, fleet):
    registry_file.write(fleet[1:2])
    service.sink.failure = ConnectionError("ingest is down")
    assert len(await service.poll_once()) == 1
    assert service.last_delivery_error == "ingest is down"
    service.sink.failure = None
    await service.poll_once()
    assert service.last_delivery_error is None and len(service.sink.batches) == 1


async def test_run_polls_every_interval_until_cancelled(registry_file, fleet):
    registry_file.write(fleet[1:2])
    sink = ListSink()
    service = MonitorService(registry_file.path, 0.1, sink)
    task = asyncio.create_task(service.run())
    while len(sink.batches) < 3:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(batch[0].payload["instance"] == "frozen" for batch in sink.batches)


async def test_a_stop_as_a_batch_is_delivered_ends_the_run(registry_file, fleet):
    """Cancelled in the loop turn its delivery finishes, the monitor stops: with
    `asyncio.wait_for` around the sink, Python 3.11 returned the delivery and dropped the
    cancellation, polling went on, and the test above hung once in a loaded run."""
    registry_file.write(fleet[1:2])
    delivered: list[list[Envelope]] = []

    async def stop_on_delivery(events: list[Envelope]) -> None:
        delivered.append(events)
        run.cancel()

    run = asyncio.create_task(MonitorService(registry_file.path, 0.1, stop_on_delivery).run())
    try:
        while not run.done() and len(delivered) < 2:
            await asyncio.sleep(0.05)
        assert run.cancelled() and len(delivered) == 1
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


def test_no_data_for_five_minutes_is_stale() -> None:
    now = [1000.0]
    memory = PollMemory(clock=lambda: now[0])
    failing = Observation(InstanceSpec("zap"), ProbeFailure("libvirt_error", "down"))
    assert memory.complete(failing).seconds_without_data == 0.0
    now[0] += 301
    stale = memory.complete(failing)
    assert [i["code"] for i in snapshot_payload(stale)["issues"]] == ["libvirt_error", "stale"]
    assert "no successful check for 5 min" in snapshot_payload(stale)["issues"][1]["message"]


async def test_without_libvirt_python_the_other_checks_still_run(tmp_path, gateway_server):
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps([{"name": "zap", "gateway": {"url": gateway_server.url}}]))
    script = f"""
import asyncio, json, sys
sys.modules["libvirt"] = None  # as if libvirt-python were not installed
from agentmon.monitor import MonitorService
async def poll():
    async def sink(events): pass
    service = MonitorService(__import__("pathlib").Path({str(registry)!r}), 30.0, sink)
    events = await service.poll_once()
    await service.close()
    print(json.dumps(events[0].payload))
asyncio.run(poll())
"""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )  # async, so the gateway server in this event loop can answer the child
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    payload = json.loads(stdout)
    assert payload["checks"] == {"libvirt": "off: libvirt-python not installed", "gateway": "ok"}
    assert payload["issues"] == []
    assert "libvirt-python is not installed" in stderr.decode()
