"""The retry schedule (seeded), and every producer agentmon ships backing off from a real
HTTP peer that answers 503/429 with Retry-After: the hooks, the SDK, the monitor's and the
demo's sink (one ``HttpSink``)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from client_helpers import ScriptedGateway, client_config, envelope

from agentmon.client.backoff import Backoff, parse_retry_after, urandom_fraction
from agentmon.client.sink import DeliveryError, HttpSink
from agentmon.events import new_event
from agentmon.integrations._hookio import deliver
from agentmon.sdk import Emitter, constructors


def test_full_jitter_schedule_is_seeded_exponential_and_capped() -> None:
    backoff = Backoff(base=0.5, cap=4.0, uniform=random.Random(7).random)
    reference = random.Random(7)
    ceilings = [min(4.0, 0.5 * 2**attempt) for attempt in range(8)]
    delays = [backoff.delay(attempt) for attempt in range(8)]
    assert delays == [reference.random() * ceiling for ceiling in ceilings]
    assert all(0 <= delay < ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]


def test_a_fleet_retrying_the_same_attempt_spreads_over_the_window() -> None:
    backoff = Backoff(base=0.5, cap=30.0, uniform=random.Random(1).random)
    delays = sorted(backoff.delay(3) for _ in range(1000))
    assert 0 <= delays[0] < 0.1 and 3.9 < delays[-1] < 4.0
    assert 1.8 < delays[500] < 2.2


def test_retry_after_is_the_floor_and_is_bounded() -> None:
    half = Backoff(base=0.5, uniform=lambda: 0.5)
    assert half.delay(0, retry_after=3.0) == 3.25
    assert half.delay(2, retry_after=0.0) == 1.0
    assert half.delay(0, retry_after=-5.0) == 0.25
    assert half.delay(0, retry_after=1e9) == 60.25
    assert Backoff(uniform=lambda: 0.0).delay(1000) == 0.0


def test_retry_after_headers() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert parse_retry_after(format_datetime(later, usegmt=True)) == pytest.approx(30, abs=2)


def test_urandom_fractions_are_uniform_in_the_unit_interval() -> None:
    draws = [urandom_fraction() for _ in range(2000)]
    assert all(0 <= draw < 1 for draw in draws)
    assert len(set(draws)) == len(draws)
    assert 0.4 < sum(draws) / len(draws) < 0.6


BUSY = (503, {"Retry-After": "1"})
THROTTLED = (429, {"Retry-After": "0"})


def test_a_hook_waits_out_retry_after_then_delivers(
    tmp_path: Path, scripted_gateway: ScriptedGateway
) -> None:
    scripted_gateway.answers += [BUSY]
    config = client_config(tmp_path, scripted_gateway.url)
    event = envelope("hook")
    assert deliver(config, [event], "test") is True
    assert len(scripted_gateway.received) == 2
    assert 1.0 <= scripted_gateway.gaps()[0] < 1.9
    assert scripted_gateway.accepted_ids() == [event["event"]["id"]]


def test_a_hook_stays_within_its_time_bound_and_spools(
    tmp_path: Path, scripted_gateway: ScriptedGateway
) -> None:
    scripted_gateway.answers += [BUSY] * 10
    config = client_config(tmp_path, scripted_gateway.url, AGENTMON_HOOK_TIMEOUT="1.5")
    started = time.monotonic()
    assert deliver(config, [envelope("hook")], "test") is False
    assert time.monotonic() - started < 1.5
    assert len(scripted_gateway.received) == 2
    assert len(list((tmp_path / "spool").glob("*.json"))) == 1
    assert "gateway answered 503" in (tmp_path / "hooks.log").read_text()


def test_the_sdk_backs_off_and_delivers(tmp_path: Path, scripted_gateway: ScriptedGateway) -> None:
    scripted_gateway.answers += [BUSY, THROTTLED]
    with Emitter(
        server_url=scripted_gateway.url, spool_dir=str(tmp_path / "spool"), retry_backoff=0.2
    ) as emitter:
        event = constructors.session_start(emitter.source, "sdk-session")
        emitter.emit(event)
        assert emitter.flush(timeout=10)
    assert len(scripted_gateway.received) == 3
    assert scripted_gateway.gaps()[0] >= 1.0
    assert scripted_gateway.accepted_ids() == [event.id]
    assert not list((tmp_path / "spool").glob("*.json"))


async def test_the_monitor_and_demo_sink_backs_off_and_delivers(
    scripted_gateway: ScriptedGateway,
) -> None:
    scripted_gateway.answers += [BUSY]
    sink = HttpSink(scripted_gateway.url)
    event = new_event("openclaw.snapshot", framework="openclaw", payload={"instance": "zap"})
    await sink([event])
    assert scripted_gateway.gaps()[0] >= 1.0
    assert scripted_gateway.accepted_ids() == [event.id]


async def test_the_sink_gives_up_after_its_attempts(scripted_gateway: ScriptedGateway) -> None:
    scripted_gateway.answers += [THROTTLED] * 5
    sink = HttpSink(scripted_gateway.url, attempts=3, backoff=Backoff(base=0.05))
    event = new_event("openclaw.snapshot", framework="openclaw", payload={"instance": "zap"})
    with pytest.raises(DeliveryError, match=r"1 event\(s\) not delivered: gateway answered 429"):
        await asyncio.wait_for(sink([event]), 10)
    assert len(scripted_gateway.received) == 3
