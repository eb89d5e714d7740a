"""One POST classified, retries bounded, batching, refused events isolated by bisection, and
the small HTTP client underneath (answers parsed, urllib for https, failures as OSError)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from client_helpers import POISON, ScriptedGateway, envelope, stored_ids

from agentmon.client import delivery
from agentmon.client.delivery import (
    DELIVERED,
    REFUSED,
    RETRY,
    Endpoint,
    RetryPolicy,
    deliver_events,
    http_post,
    parse_response,
    post_once,
    post_with_retry,
    post_with_urllib,
    split_batches,
)
from agentmon.client.jsonio import json_dumps

BODY = json_dumps([envelope("x")]).encode()


def test_the_endpoint_carries_the_key() -> None:
    assert Endpoint("http://gw:8080/", "k").url == "http://gw:8080/v1/events"
    assert Endpoint("http://gw:8080", "k").headers["Authorization"] == "Bearer k"
    assert "Authorization" not in Endpoint("http://gw:8080").headers


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "retry_after"),
    [
        (503, {"Retry-After": "2"}, RETRY, 2.0),
        (500, {}, RETRY, None),
        (429, {}, RETRY, None),
        (401, {}, RETRY, None),
        (404, {}, RETRY, None),
        (400, {}, REFUSED, None),
        (413, {}, REFUSED, None),
        (415, {}, REFUSED, None),
    ],
)
def test_answers_are_classified(
    scripted_gateway: ScriptedGateway,
    status: int,
    headers: dict[str, str],
    outcome: str,
    retry_after: float | None,
) -> None:
    scripted_gateway.answers.append((status, headers))
    result = post_once(Endpoint(scripted_gateway.url), BODY, 5.0)
    assert (result.outcome, result.retry_after) == (outcome, retry_after)
    assert f"answered {status}" in result.problem
    assert post_once(Endpoint(scripted_gateway.url), BODY, 5.0).outcome == DELIVERED


def test_an_unreachable_gateway_is_retried_only_if_the_policy_says_so(unused_port: int) -> None:
    endpoint = Endpoint(f"http://127.0.0.1:{unused_port}")
    sleeps: list[float] = []
    hook = RetryPolicy(timeout=1.0, budget=5.0, retry_unreachable=False, sleep=sleeps.append)
    result = post_with_retry(endpoint, BODY, hook, hook.deadline())
    assert (result.outcome, result.reachable, sleeps) == (RETRY, False, [])
    sdk = RetryPolicy(timeout=1.0, attempts=3, sleep=sleeps.append)
    assert post_with_retry(endpoint, BODY, sdk, None).outcome == RETRY
    assert len(sleeps) == 2


def test_attempts_bound_the_retries(scripted_gateway: ScriptedGateway) -> None:
    scripted_gateway.answers += [(503, {"Retry-After": "0"})] * 5
    policy = RetryPolicy(timeout=5.0, attempts=2)
    result = post_with_retry(Endpoint(scripted_gateway.url), BODY, policy, None)
    assert result.outcome == RETRY
    assert len(scripted_gateway.received) == 2


def test_a_wait_past_the_deadline_is_not_slept(scripted_gateway: ScriptedGateway) -> None:
    scripted_gateway.answers += [(503, {"Retry-After": "5"})]
    policy = RetryPolicy(timeout=5.0, budget=1.0)
    started = time.monotonic()
    result = post_with_retry(Endpoint(scripted_gateway.url), BODY, policy, policy.deadline())
    assert time.monotonic() - started < 1.0
    assert (result.outcome, result.retry_after) == (RETRY, 5.0)


def test_split_batches_respects_count_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "MAX_BATCH_EVENTS", 3)
    batches = split_batches([envelope(str(n)) for n in range(7)])
    assert [len(batch) for batch in batches] == [3, 3, 1]
    monkeypatch.setattr(delivery, "MAX_BATCH_BYTES", 1)
    assert [len(batch) for batch in split_batches([envelope("x"), envelope("y")])] == [1, 1]


def test_a_refused_batch_is_bisected_down_to_the_refused_event(
    scripted_gateway: ScriptedGateway,
) -> None:
    events = [envelope(str(n)) for n in range(8)]
    poison = envelope("p", POISON)
    events.insert(5, poison)
    report = deliver_events(Endpoint(scripted_gateway.url), events, RetryPolicy(timeout=5.0))
    assert report.delivered == 8
    assert [(batch, "400" in reason) for batch, reason in report.refused] == [([poison], True)]
    assert report.leftover == []
    innocent = [event["event"]["id"] for event in events if event is not poison]
    assert sorted(scripted_gateway.accepted_ids()) == sorted(innocent)
    assert len(scripted_gateway.received) <= 1 + 2 * 4


def test_what_is_left_after_a_failure_keeps_its_order(
    scripted_gateway: ScriptedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MAX_BATCH_EVENTS", 2)
    scripted_gateway.answers += [(200, {}), (503, {})]
    events = [envelope(str(n)) for n in range(5)]
    report = deliver_events(
        Endpoint(scripted_gateway.url), events, RetryPolicy(timeout=5.0, attempts=1)
    )
    assert (report.delivered, report.leftover) == (2, events[2:])
    assert "answered 503" in report.problem


def test_the_real_gateway_rejects_items_one_by_one_and_refuses_all_bad_batches(
    embedded_server: Any,
) -> None:
    session = str(uuid.uuid4())
    good = envelope(session, "run.end")
    bad = envelope(session, "run.start")
    bad["event"]["ts"] = "not a time"
    worse = envelope(session, "run.start")
    worse["event"]["ts"] = "never"
    endpoint = Endpoint(embedded_server.ingest_url)
    report = deliver_events(endpoint, [bad, good], RetryPolicy(timeout=5.0))
    assert (report.delivered, report.refused, report.leftover) == (2, [], [])
    assert len(report.rejections) == 1
    assert report.rejections[0].startswith("event 0 (run.start) rejected:")
    report = deliver_events(endpoint, [bad, worse], RetryPolicy(timeout=5.0))
    assert [batch for batch, _ in report.refused] == [[bad], [worse]]
    assert stored_ids(embedded_server.query_url, session, 1) == [good["event"]["id"]]


JSON = {"Content-Type": "application/json"}


def test_reads_chunked_and_plain_answers() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = head + b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    assert json.loads(parse_response(chunked).body) == {"a": 1}
    plain = parse_response(b"HTTP/1.1 503 Busy\r\nRetry-After: 2\r\n\r\nbusy")
    assert (plain.status, plain.headers["retry-after"], plain.body) == (503, "2", b"busy")
    with pytest.raises(OSError):
        parse_response(b"garbage")


@pytest.mark.parametrize("post", [http_post, post_with_urllib])
def test_both_transports_speak_to_the_real_gateway(embedded_server: Any, post: Any) -> None:
    url = f"{embedded_server.ingest_url}/v1/events"
    answer = post(url, json_dumps([envelope("http")]).encode(), JSON, 5.0)
    assert answer.status == 200
    assert json.loads(answer.body)["accepted"] == 1
    bad = post(url, b"{", JSON, 5.0)
    assert 400 <= bad.status < 500


def test_an_unreachable_gateway_is_an_os_error(unused_port: int) -> None:
    with pytest.raises(OSError):
        http_post(f"http://127.0.0.1:{unused_port}/v1/events", b"[]", JSON, 1.0)
    with pytest.raises(OSError):
        http_post("ftp://127.0.0.1/v1/events", b"[]", JSON, 1.0)
