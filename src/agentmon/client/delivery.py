"""Sending envelopes to a gateway: one POST classified, retried, batched, bisected.

Every answer falls in one of three outcomes:

- **delivered** (2xx): the gateway holds the batch; items it rejected one by one are
  listed and never retried (they would be rejected again);
- **refused** (a 4xx other than those below): the gateway will never take this batch as it
  is. A refused batch of several events is cut in halves and each half sent again, so only
  the events the gateway refuses on their own are given up on, never their neighbours;
- **retry later**: the gateway is unreachable, busy (429, 503, any 5xx), timed out (408),
  or the producer is misconfigured in a way that a fix repairs for every event alike
  (401, 403, 404, 407): keep the events.

Retries follow :mod:`agentmon.client.backoff` within a ``RetryPolicy``'s bounds; that module
is imported only when a retry is due, so a delivery that succeeds at once never loads it.

HTTP: plain ``http://`` gateways get a small HTTP/1.1 client over ``_socket``: ``urllib``
and ``http.client`` import ``email``, ``re`` and more than a hook handler's whole run costs,
and a ``str`` host name makes the socket module load the IDNA codec. ``https://`` goes
through ``urllib`` (TLS costs more than those imports anyway). The whole exchange is bounded
by one timeout; a server that cannot be reached or answer in time is an ``OSError``.
"""

from __future__ import annotations

import time

from agentmon.client.jsonio import json_dumps, json_loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from agentmon.client.backoff import Backoff

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
        self._backoff = backoff
        self.sleep = sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if self._backoff is None:
            from agentmon.client.backoff import Backoff

            self._backoff = Backoff()
        return self._backoff.delay(attempt, retry_after)

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


def post_once(endpoint: Endpoint, body: bytes, timeout: float) -> DeliveryResult:
    try:
        answer = http_post(endpoint.url, body, endpoint.headers, timeout)
    except OSError as exc:
        return DeliveryResult(RETRY, f"gateway unreachable: {exc}", reachable=False)
    if 200 <= answer.status < 300:
        return DeliveryResult(DELIVERED, rejections=_rejections(answer.body))
    problem = f"gateway answered {answer.status}: {answer.body[:300]!r}"
    if 400 <= answer.status < 500 and answer.status not in RETRY_LATER_STATUSES:
        return DeliveryResult(REFUSED, problem)
    from agentmon.client.backoff import parse_retry_after

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
        wait = policy.delay(attempt - 1, result.retry_after)
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


# ---------------------------------------------------------------- HTTP


class HttpAnswer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    """POST ``body``; raise OSError when the server cannot be reached in ``timeout`` s."""
    scheme, _, rest = url.partition("://")
    if scheme == "https":
        return post_with_urllib(url, body, headers, timeout)
    if scheme != "http":
        raise OSError(f"unsupported URL scheme in {url!r}")
    authority, _, path = rest.partition("/")
    host, port = _split_authority(authority)
    lines = [f"POST /{path} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += ["Connection: close", "", ""]
    return parse_response(_exchange(host, port, "\r\n".join(lines).encode() + body, timeout))


def _split_authority(authority: str) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = authority.partition(":")
    return host, int(port) if port else 80


def _exchange(host: str, port: int, request: bytes, timeout: float) -> bytes:
    import _socket

    deadline = time.monotonic() + timeout
    last_error: OSError = OSError(f"cannot resolve {host}")
    addresses = _socket.getaddrinfo(_host_bytes(host), port, 0, _socket.SOCK_STREAM)
    for family, kind, proto, _, address in addresses:
        connection = _socket.socket(family, kind, proto)
        try:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            connection.connect((_host_bytes(str(address[0])), *address[1:]))
            _send_all(connection, request)
            return _read_all(connection, deadline)
        except OSError as exc:
            last_error = exc
        finally:
            connection.close()
    raise last_error


def _send_all(connection: Any, request: bytes) -> None:
    """Send the request; a server may answer early (e.g. 413 once it has read the headers)
    and close while the body is still going: then its answer, not the reset, is what counts,
    so a failed send is an error only when no answer was received."""
    try:
        connection.sendall(request)
    except (BrokenPipeError, ConnectionResetError):
        import _socket

        connection.settimeout(0.5)
        if not connection.recv(1, _socket.MSG_PEEK):
            raise


def _host_bytes(host: str) -> bytes:
    """A host name as bytes: a ``str`` host makes the socket module load the IDNA codec
    (``encodings.idna`` → ``re``, ``enum``: more than a handler's own run time)."""
    return host.encode() if host.isascii() else host.encode("idna")


def _read_all(connection: Any, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete answer in time")
        connection.settimeout(remaining)
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def parse_response(raw: bytes) -> HttpAnswer:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise OSError("truncated HTTP answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"not an HTTP answer: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return HttpAnswer(int(parts[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out: list[bytes] = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return b"".join(out)


def post_with_urllib(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            headers = {key.lower(): value for key, value in answer.headers.items()}
            return HttpAnswer(answer.status, headers, answer.read())
    except urllib.error.HTTPError as exc:
        headers = {key.lower(): value for key, value in exc.headers.items()}
        return HttpAnswer(exc.code, headers, exc.read())
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None
