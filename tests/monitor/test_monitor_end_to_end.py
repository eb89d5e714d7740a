"""The monitor against the real agentmon server: snapshots in, instances out.

Needs the lead's `embedded_server` fixture (tests/conftest.py); until it exists this test is
skipped with that reason. It prefers `agentmon openclaw-monitor` and falls back to
`python -m agentmon.monitor` while the subcommand is not wired yet.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from typing import Any

import httpx
import pytest


def monitor_command() -> list[str]:
    agentmon = shutil.which("agentmon", path=os.path.dirname(sys.executable))
    if agentmon:
        probe = subprocess.run(
            [agentmon, "openclaw-monitor", "--help"], capture_output=True, check=False, timeout=60
        )
        if probe.returncode == 0 and b"--once" in probe.stdout:
            return [agentmon, "openclaw-monitor"]
    return [sys.executable, "-m", "agentmon.monitor"]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("embedded_server")
    except pytest.FixtureLookupError:
        pytest.skip("the lead's embedded_server fixture (tests/conftest.py) is not there yet")


async def test_snapshots_reach_the_instances_endpoint(
    server, registry_file, node_uri, sshd, gateway_server
) -> None:
    registry = registry_file.write(
        [
            {
                "name": "e2e-web",
                "libvirt": {"uri": node_uri, "domain": "web"},
                "ssh": sshd.entry(),
                "gateway": {"url": gateway_server.url},
            },
            {"name": "e2e-off", "libvirt": {"uri": node_uri, "domain": "off"}},
        ]
    )
    process = await asyncio.create_subprocess_exec(
        *monitor_command(),
        "--once",
        "--ingest-url",
        server.ingest_url,
        "--registry",
        str(registry),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, stderr.decode()
    assert "e2e-web" in stdout.decode()

    async with httpx.AsyncClient(base_url=server.query_url, timeout=10) as client:
        for _ in range(50):  # the store may take a moment in distributed setups
            answer = (await client.get("/v1/openclaw/instances")).json()
            instances = {i["name"]: i for i in answer["instances"]}
            if {"e2e-web", "e2e-off"} <= set(instances):
                break
            await asyncio.sleep(0.1)
    web, off = instances["e2e-web"], instances["e2e-off"]
    assert web["snapshot"]["state"] == "running"
    assert web["snapshot"]["checks"] == {"libvirt": "ok", "ssh": "ok", "gateway": "ok"}
    assert off["snapshot"]["state"] == "shutoff"
    assert [issue["code"] for issue in off["issues"]] == ["vm_not_running"]
