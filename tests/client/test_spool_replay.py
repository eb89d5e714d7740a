"""Spool replay with new events, against a real gateway: outages, a jammed spool, bounds."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client_helpers import client_config, envelope, stored_ids

from agentmon.client.delivery import Endpoint, RetryPolicy
from agentmon.client.spool import Spool, deliver_or_spool
from agentmon.events import MAX_BODY_BYTES


def send(config: Any, events: list[dict[str, Any]], log: list[str]) -> bool:
    """What a hook does (see integrations/_hookio.deliver)."""
    policy = RetryPolicy(timeout=config.timeout, budget=config.timeout, retry_unreachable=False)
    endpoint = Endpoint(config.ingest_url, config.api_key)
    return deliver_or_spool(Spool.configured(config), endpoint, events, policy, log.append)


def spooled_sessions(spool: Spool) -> list[list[str]]:
    return [[e["correlation"]["session_id"] for e in batch] for _, batch in spool.claim()]


def test_an_outage_spools_the_new_events_and_leaves_the_spool_as_it_was(
    tmp_path: Path, unused_port: int
) -> None:
    config = client_config(tmp_path, f"http://127.0.0.1:{unused_port}")
    spool = Spool.configured(config)
    earlier = spool.write([envelope("earlier")])
    log: list[str] = []
    assert send(config, [envelope("now")], log) is False
    assert Path(earlier).exists()
    assert spooled_sessions(spool) == [["earlier"], ["now"]]
    assert "gateway unreachable" in log[0]


def test_a_real_outage_and_recovery_store_every_event_once(
    tmp_path: Path, make_embedded_server: Callable[..., Any]
) -> None:
    session = str(uuid.uuid4())
    events = [envelope(session, kind) for kind in ("session.start", "run.start", "run.end")]
    first = make_embedded_server(tmp_path / "data")
    config = client_config(tmp_path, first.ingest_url)
    log: list[str] = []
    assert send(config, events[:1], log) is True
    first.stop()
    assert send(config, events[1:2], log) is False
    assert send(config, events[2:], log) is False
    assert Spool.configured(config).count() == 2
    second = make_embedded_server(tmp_path / "data")
    config = client_config(tmp_path, second.ingest_url)
    assert send(config, [], log) is True
    assert Spool.configured(config).count() == 0
    ids = stored_ids(second.query_url, session, 3)
    assert sorted(ids) == sorted(event["event"]["id"] for event in events)


def test_a_spool_never_stalls_behind_a_batch_the_gateway_refuses(
    tmp_path: Path, embedded_server: Any
) -> None:
    """An event over the gateway's body limit is refused (413) in any batch: it is set
    aside, and everything spooled before and after it is delivered."""
    session = str(uuid.uuid4())
    config = client_config(tmp_path, embedded_server.ingest_url)
    spool = Spool.configured(config)
    before, after, new, huge = (envelope(session) for _ in range(4))
    huge["payload"] = {"blob": "x" * (MAX_BODY_BYTES + 1)}
    for batch in ([before], [huge], [after]):
        spool.write(batch)
    log: list[str] = []
    assert send(config, [new], log) is True
    assert spool.count() == 0
    ((reason, aside),) = spool.rejected()
    assert "gateway answered 413" in reason
    assert [event["event"]["id"] for event in aside] == [huge["event"]["id"]]
    assert [line.split(",")[0] for line in log] == ["1 event(s) refused"]
    expected = [event["event"]["id"] for event in (before, after, new)]
    assert sorted(stored_ids(embedded_server.query_url, session, 3)) == sorted(expected)


def test_per_item_rejections_are_logged_not_retried(tmp_path: Path, embedded_server: Any) -> None:
    session = str(uuid.uuid4())
    config = client_config(tmp_path, embedded_server.ingest_url)
    bad = envelope(session, "run.start")
    bad["event"]["ts"] = "not a time"
    log: list[str] = []
    assert send(config, [bad, envelope(session)], log) is True
    assert [line.split(":")[0] for line in log] == ["event 0 (run.start) rejected"]
    assert Spool.configured(config).count() == 0
    assert Spool.configured(config).rejected() == []


def test_a_spool_over_its_bounds_drops_the_oldest_and_says_how_many(
    tmp_path: Path, unused_port: int
) -> None:
    config = client_config(
        tmp_path, f"http://127.0.0.1:{unused_port}", AGENTMON_SPOOL_MAX_FILES="3"
    )
    spool = Spool.configured(config)
    for n in range(5):
        spool.write([envelope(f"old{n}")])
    log: list[str] = []
    assert send(config, [envelope("now")], log) is False
    assert "dropped the 3 oldest batches" in log[-1]
    assert spooled_sessions(spool) == [["old3"], ["old4"], ["now"]]
