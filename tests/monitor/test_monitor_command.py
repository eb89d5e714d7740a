"""The command as a user runs it: `python -m agentmon.monitor` in a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from agentmon.client.sink import DeliveryError
from agentmon.events import new_event, validate_event
from agentmon.monitor import HttpSink


async def run_monitor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Async, so the servers living in this test's event loop can answer the child."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentmon.monitor",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
def two_vms(registry_file, node_uri, sshd, gateway_server):
    return registry_file.write(
        [
            {
                "name": "web",
                "libvirt": {"uri": node_uri},
                "ssh": sshd.entry(),
                "gateway": {"url": gateway_server.url},
            },
            {"name": "off", "libvirt": {"uri": node_uri}},
        ]
    )


async def test_once_delivers_and_prints_the_table(two_vms, ingest_server) -> None:
    code, out, err = await run_monitor(
        "--once",
        "--registry",
        str(two_vms),
        "--ingest-url",
        ingest_server.url,
        env={"AGENTMON_API_KEY": "sekrit"},
    )
    assert code == 0, err
    (batch,) = ingest_server.received
    assert batch["headers"]["authorization"] == "Bearer sekrit"
    names = sorted(validate_event(event).payload["instance"] for event in batch["events"])
    assert names == ["off", "web"]
    header, off_row, web_row = out.splitlines()[:3]
    assert header.split() == ["NAME", "STATE", "CPU", "MEM", "DISK", "GATEWAY", "ISSUES"]
    assert off_row.split()[:2] == ["off", "shutoff"] and off_row.endswith("vm_not_running(c)")
    assert web_row.split()[:2] == ["web", "running"] and web_row.endswith("ok")
    assert "off: critical vm_not_running: VM off is shutoff" in out


async def test_once_with_the_ingest_down_prints_and_fails(two_vms, closed_port) -> None:
    code, out, err = await run_monitor(
        "--once", "--registry", str(two_vms), "--ingest-url", f"http://127.0.0.1:{closed_port}"
    )
    assert code == 1
    assert out.startswith("NAME")
    assert "snapshots not delivered" in err


async def test_once_no_post_only_prints(two_vms, closed_port) -> None:
    code, out, _ = await run_monitor(
        "--once",
        "--no-post",
        "--registry",
        str(two_vms),
        "--ingest-url",
        f"http://127.0.0.1:{closed_port}",
    )
    assert code == 0 and "web" in out


async def test_once_without_a_registry_says_so(tmp_path) -> None:
    code, out, err = await run_monitor(
        "--once", "--no-post", "--registry", str(tmp_path / "absent.json")
    )
    assert code == 1
    assert "(no instances in the registry)" in out and "not found" in err


async def test_http_sink_reports_what_the_ingest_answered(ingest_server) -> None:
    sink = HttpSink(ingest_server.url)
    event = new_event("openclaw.snapshot", framework="openclaw", payload={"instance": "zap"})
    await sink([event])
    assert ingest_server.received[0]["events"][0]["event"]["id"] == event.id
    ingest_server.mode["status"] = 503
    with pytest.raises(DeliveryError, match="answered 503"):
        await sink([event])
    await sink.aclose()


async def test_runs_until_sigterm_and_exits_cleanly(two_vms, ingest_server) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentmon.monitor", "--registry", str(two_vms),
        "--interval", "200ms", "--ingest-url", ingest_server.url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            if len(ingest_server.received) >= 3:
                break
            await asyncio.sleep(0.05)
        assert len(ingest_server.received) >= 3
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert all(len(batch["events"]) == 2 for batch in ingest_server.received)
