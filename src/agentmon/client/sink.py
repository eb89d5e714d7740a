"""The asyncio face of the client layer, for long-running producers (the VM monitor, the demo).

A ``Sink`` is what such a producer hands its envelopes to: an ``HttpSink`` posting to a
gateway, or, inside the embedded server, the intake's ``accept``. ``HttpSink`` runs the same
delivery as the hooks and the SDK (``agentmon.client.delivery``: batching, retries with
jittered backoff that honour ``Retry-After``, refused events isolated by bisection) in a
worker thread, so the event loop never blocks on the network, and raises ``DeliveryError``
when events were not all taken. It has no spool: these producers re-observe what they report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agentmon.client.backoff import Backoff
from agentmon.client.delivery import DeliveryReport, Endpoint, RetryPolicy, deliver_events
from agentmon.events import Envelope, to_dict

log = logging.getLogger(__name__)

Sink = Callable[[list[Envelope]], Awaitable[None]]

DEFAULT_ATTEMPTS = 4
DEFAULT_BUDGET = 25.0


class DeliveryError(Exception):
    """The events were not all taken; the message says what the receiver answered."""


class HttpSink:
    """POSTs batches as a JSON array to ``<ingest_url>/v1/events`` of an ingest gateway.

    Each call tries at most ``attempts`` times per batch and ``budget`` seconds in all, so a
    caller's own timeout (the monitor's 30 s) is never the one that fires.
    """

    def __init__(
        self,
        ingest_url: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        budget: float = DEFAULT_BUDGET,
        backoff: Backoff | None = None,
    ) -> None:
        self.endpoint = Endpoint(ingest_url, api_key)
        self.url = self.endpoint.url
        self.policy = RetryPolicy(
            timeout=timeout, attempts=attempts, budget=budget, backoff=backoff
        )

    async def __call__(self, events: list[Envelope]) -> None:
        report = await asyncio.to_thread(self._deliver, [to_dict(event) for event in events])
        for reason in report.rejections:
            log.warning("ingest rejected an event: %s", reason)
        problems = [f"{len(batch)} event(s) refused: {reason}" for batch, reason in report.refused]
        if report.leftover:
            problems.append(f"{len(report.leftover)} event(s) not delivered: {report.problem}")
        if problems:
            raise DeliveryError(f"POST {self.url}: " + "; ".join(problems))

    def _deliver(self, events: list[dict[str, object]]) -> DeliveryReport:
        return deliver_events(self.endpoint, events, self.policy)

    async def aclose(self) -> None:
        """Nothing to release (each POST has its own connection); kept for callers' symmetry."""
