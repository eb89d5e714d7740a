"""A client of the ingest gateway: posts envelopes to `/v1/events` from any async producer
(the VM monitor, `agentmon demo`). `Sink` is what such producers deliver to: this client, or
an in-process intake's `accept`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx

from agentmon.events import Envelope, encode_many

log = logging.getLogger(__name__)

Sink = Callable[[list[Envelope]], Awaitable[None]]


class DeliveryError(Exception):
    """The events were not taken; the message says what the receiver answered."""


class HttpSink:
    """POSTs batches as a JSON array to `<ingest_url>/v1/events` of an ingest gateway."""

    def __init__(self, ingest_url: str, api_key: str | None = None, timeout: float = 10.0) -> None:
        self.url = ingest_url.rstrip("/") + "/v1/events"
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def __call__(self, events: list[Envelope]) -> None:
        try:
            response = await self._client.post(self.url, content=encode_many(events))
        except httpx.HTTPError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise DeliveryError(f"POST {self.url} failed: {detail}") from exc
        if response.status_code != 200:
            raise DeliveryError(
                f"POST {self.url} answered HTTP {response.status_code}: {response.text[:300]}"
            )
        rejected = _rejected(response)
        for reason in rejected:
            log.warning("ingest rejected an event: %s", reason)

    async def aclose(self) -> None:
        await self._client.aclose()


def _rejected(response: httpx.Response) -> list[object]:
    try:
        body = response.json()
    except ValueError:
        return []
    rejected = body.get("rejected") if isinstance(body, dict) else None
    return rejected if isinstance(rejected, list) else []
