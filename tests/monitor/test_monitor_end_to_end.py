"""The monitor against a real agentmon server: snapshots in, instances out.

The server is private to this test, so the VMs it reports do not appear in other tests'
views of the shared server.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import httpx
import pytest


@pytest.fixture
def server(make_embedded_server: Any) -> Any:
    return make_embedded_server()


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
        sys.executable,
        "-m",
        "agentmon",
        "openclaw-monitor",
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
