"""Is the OpenClaw gateway answering HTTP, and how fast.

The gateway counts as up when it sends any HTTP answer below 500 within the time limit
(a 401 or 404 still proves the process is alive and serving); a 5xx, a refused or reset
connection, or no answer in time counts as down.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import GatewayTarget


@dataclass(frozen=True)
class GatewayResult:
    url: str
    up: bool
    latency_ms: float | None = None
    status_code: int | None = None
    failure: ProbeFailure | None = None

    def payload(self) -> dict[str, object]:
        body: dict[str, object] = {"url": self.url, "up": self.up}
        if self.latency_ms is not None:
            body["latency_ms"] = self.latency_ms
        if self.status_code is not None:
            body["status_code"] = self.status_code
        return body


class GatewayProbe:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def check(self, target: GatewayTarget) -> GatewayResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see MonitorService.run
                response = await self._client.get(target.url)
        except (TimeoutError, httpx.TimeoutException):
            return _down(target, f"gateway {target.url} did not answer within {self.timeout:g}s")
        except Exception as exc:  # refused, reset, bad URL, TLS: all mean "not answering"
            detail = " ".join(str(exc).split()) or type(exc).__name__
            return _down(target, f"gateway {target.url} unreachable: {detail}")
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        if response.status_code >= 500:
            return GatewayResult(
                target.url,
                up=False,
                latency_ms=latency_ms,
                status_code=response.status_code,
                failure=ProbeFailure(
                    "gateway_down", f"gateway {target.url} answered HTTP {response.status_code}"
                ),
            )
        return GatewayResult(target.url, True, latency_ms, response.status_code)

    async def close(self) -> None:
        await self._client.aclose()


def _down(target: GatewayTarget, message: str) -> GatewayResult:
    return GatewayResult(target.url, up=False, failure=ProbeFailure("gateway_down", message))
