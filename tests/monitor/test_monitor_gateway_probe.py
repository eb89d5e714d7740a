from __future__ import annotations

import pytest

from agentmon.monitor.gateway_probe import GatewayProbe
from agentmon.monitor.registry import GatewayTarget


@pytest.fixture
async def probe():
    probe = GatewayProbe(timeout=2.0)
    yield probe
    await probe.close()


async def test_answering_gateway_is_up_with_latency(probe, gateway_server) -> None:
    result = await probe.check(GatewayTarget(gateway_server.url))
    assert (result.up, result.status_code, result.failure) == (True, 200, None)
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert result.payload() == {
        "url": gateway_server.url,
        "up": True,
        "latency_ms": result.latency_ms,
        "status_code": 200,
    }


async def test_a_4xx_still_proves_the_gateway_alive(probe, gateway_server) -> None:
    gateway_server.mode["status"] = 401
    assert (await probe.check(GatewayTarget(gateway_server.url))).up


async def test_a_5xx_is_down(probe, gateway_server) -> None:
    gateway_server.mode["status"] = 503
    result = await probe.check(GatewayTarget(gateway_server.url))
    assert not result.up and result.status_code == 503
    assert result.failure is not None and result.failure.code == "gateway_down"


async def test_a_slow_gateway_is_down_after_the_timeout(probe, gateway_server) -> None:
    gateway_server.mode["delay"] = 10.0
    result = await probe.check(GatewayTarget(gateway_server.url))
    assert not result.up and result.failure is not None
    assert "did not answer within 2s" in result.failure.message


async def test_nothing_listening_is_down(probe, closed_port) -> None:
    result = await probe.check(GatewayTarget(f"http://127.0.0.1:{closed_port}/"))
    assert not result.up and result.failure is not None
    assert result.failure.code == "gateway_down" and "unreachable" in result.failure.message
