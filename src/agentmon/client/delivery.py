"""Sending envelopes to a gateway: one POST classified, retried, batched, bisected.

Every answer falls in one of three outcomes:

- **delivered** (200): the gateway holds the batch; items it rejected one by one are
  listed and never retried (they would be rejected again);
- **refused** (a 4xx other than those below): the gateway will never take this batch as it
  is. A refused batch of several events is cut in halves and each half sent again, so only
  the events the gateway refuses on their own are given up on, never their neighbours;
- **retry later**: the gateway is unreachable, busy (429, 503, any 5xx), timed out (408),
  or the producer is misconfigured in a way that a fix repairs for every event alike
  (401, 403, 404, 407): keep the events.

Retries follow :mod:`agentmon.client.backoff` within a ``RetryPolicy``'s bounds.
"""

from __future__ import annotations

import time

from agentmon.client.backoff import Backoff, parse_retry_after
from agentmon.client.http import http_post
from agentmon.client.jsonio import json_dumps, json_loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Event = dict[str, Any]

MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 8 * 1024 * 1024
RETRY_LATER_STATUSES = frozenset({401, 403, 404, 407, 408, 425, 429})

DELIVERED = "delivered"
REFUSED = "refused"
RETRY = "retry"


class Endpoint:
    """A gateway's ``/v1/events`` and the headers every POST to it carries."""

    def __init__(self, ingest_url: str, api_key: str | None = None) -> None:
        self.url = ingest_url.rstrip("/") + "/v1/events"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"


class RetryPolicy:
    """How hard to try: per-request ``timeout``; at most ``attempts`` tries per batch and
    ``budget`` seconds per delivery (None: unbounded by that measure); whether to retry a
    gateway that cannot be reached at all (a hook does not: it spools and returns)."""

    def __init__(
        self,
        *,
        timeout: float,
        attempts: int | None = None,
        budget: float | None = None,
        retry_unreachable: bool = True,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.attempts = attempts
        self.budget = budget
        self.retry_unreachable = retry_unreachable
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    def deadline(self) -> float | None:
        return None if self.budget is None else time.monotonic() + self.budget


class DeliveryResult:
    """The outcome of one POST (see the module docstring)."""

    def __init__(
        self,
        outcome: str,
        problem: str = "",
        *,
        retry_after: float | None = None,
        rejections: list[Any] | None = None,
        reachable: bool = True,
    ) -> None:
        self.outcome = outcome
        self.problem = problem
        self.retry_after = retry_after
        self.rejections = rejections or []
        self.reachable = reachable

    @property
    def delivered(self) -> bool:
        return self.outcome == DELIVERED


def post_once(endpoint: Endpoint, body: bytes, timeout: float) -> DeliveryResult:
    try:
        answer = http_post(endpoint.url, body, endpoint.headers, timeout)
    except OSError as exc:
        return DeliveryResult(RETRY, f"gateway unreachable: {exc}", reachable=False)
    if answer.status == 200:
        return DeliveryResult(DELIVERED, rejections=_rejections(answer.body))
    problem = f"gateway answered {answer.status}: {answer.body[:300]!r}"
    if 400 <= answer.status < 500 and answer.status not in RETRY_LATER_STATUSES:
        return DeliveryResult(REFUSED, problem)
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    return DeliveryResult(RETRY, problem, retry_after=retry_after)


def _rejections(body: bytes) -> list[Any]:
    try:
        answer = json_loads(body.decode("utf-8", "replace"))
    except ValueError:
        return []
    rejected = answer.get("rejected") if isinstance(answer, dict) else None
    return (
        [item for item in rejected if isinstance(item, dict)] if isinstance(rejected, list) else []
    )


def post_with_retry(
    endpoint: Endpoint, body: bytes, policy: RetryPolicy, deadline: float | None
) -> DeliveryResult:
    """POST ``body`` until it is delivered or refused, or the policy's bounds are reached."""
    attempt = 0
    while True:
        remaining = policy.timeout if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return DeliveryResult(RETRY, "no time left to deliver")
        result = post_once(endpoint, body, min(policy.timeout, remaining))
        attempt += 1
        if result.outcome != RETRY or not _may_retry(result, attempt, policy):
            return result
        wait = policy.backoff.delay(attempt - 1, result.retry_after)
        if deadline is not None and time.monotonic() + wait >= deadline:
            return result
        policy.sleep(wait)


def _may_retry(result: DeliveryResult, attempt: int, policy: RetryPolicy) -> bool:
    if not result.reachable and not policy.retry_unreachable:
        return False
    return policy.attempts is None or attempt < policy.attempts


class DeliveryReport:
    """What became of a list of events: how many the gateway took, the reasons of the items
    it rejected, the events it refused for good (with the reason), and the events still to
    be delivered (with the last problem)."""

    def __init__(self) -> None:
        self.delivered = 0
        self.rejections: list[str] = []
        self.refused: list[tuple[list[Event], str]] = []
        self.leftover: list[Event] = []
        self.problem = ""


def deliver_events(endpoint: Endpoint, events: list[Event], policy: RetryPolicy) -> DeliveryReport:
    """Send ``events`` in POST-sized batches, in order, isolating refused events."""
    report = DeliveryReport()
    deadline = policy.deadline()
    pending = split_batches(events)[::-1]
    while pending:
        batch = pending.pop()
        result = post_with_retry(endpoint, json_dumps(batch).encode(), policy, deadline)
        if result.outcome == DELIVERED:
            report.delivered += len(batch)
            report.rejections += describe_rejections(result.rejections, batch)
        elif result.outcome == REFUSED and len(batch) > 1:
            half = len(batch) // 2
            pending += [batch[half:], batch[:half]]
        elif result.outcome == REFUSED:
            report.refused.append((batch, result.problem))
        else:
            report.leftover = batch + [event for later in reversed(pending) for event in later]
            report.problem = result.problem
            break
    return report


def describe_rejections(rejections: list[Any], events: list[Event]) -> list[str]:
    """One line per item the gateway rejected: its index, event type and reason."""
    lines = []
    for item in rejections:
        index = item.get("index")
        known = isinstance(index, int) and 0 <= index < len(events)
        event_type = _event_type(events[index]) if known else "?"
        lines.append(f"event {index} ({event_type}) rejected: {item.get('reason')}")
    return lines


def _event_type(event: Event) -> str:
    header = event.get("event")
    return str(header.get("type")) if isinstance(header, dict) else "?"


def split_batches(events: list[Event]) -> list[list[Event]]:
    """Cut a list of envelopes into POST-sized batches (by count and by encoded size)."""
    batches: list[list[Event]] = []
    current: list[Event] = []
    size = 0
    for event in events:
        event_size = len(json_dumps(event))
        if current and (len(current) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += event_size
    if current:
        batches.append(current)
    return batches
