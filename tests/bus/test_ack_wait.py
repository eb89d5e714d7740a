"""AGENTMON_NATS_ACK_WAIT: the processors' durable consumer gets it when created, and an
existing consumer (which keeps the config it was created with) is brought to it on start.
Real NATS."""

from __future__ import annotations

from typing import Any

import pytest

from agentmon.bus.nats import NatsBus
from agentmon.config import SettingError, Settings
from tests.bus.test_backpressure import _lower

pytestmark = pytest.mark.services


async def _ack_wait_after_subscribing(settings: dict[str, Any]) -> float | None:
    bus = NatsBus(Settings.load(settings, env_file=""))
    await bus.connect()
    try:
        subscription = await bus.pull_subscription()
        await subscription.unsubscribe()
        info = await bus.js.consumer_info(bus.stream, bus.consumer)
        return info.config.ack_wait
    finally:
        await bus.close()


async def test_the_consumer_gets_the_ack_wait_and_an_existing_one_is_updated(
    nats_url: str, nats_names: dict[str, str]
) -> None:
    settings: dict[str, Any] = {"nats_url": nats_url, **_lower(nats_names)}
    assert await _ack_wait_after_subscribing({**settings, "nats_ack_wait": 45.0}) == 45
    assert await _ack_wait_after_subscribing({**settings, "nats_ack_wait": 2.0}) == 2
    assert await _ack_wait_after_subscribing(settings) == 30  # the default


@pytest.mark.parametrize("bad", ["0", "-5s", "soon"])
def test_a_bad_ack_wait_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("AGENTMON_NATS_ACK_WAIT", bad)
    with pytest.raises(SettingError, match=r"AGENTMON_NATS_ACK_WAIT=.* is not a duration above"):
        Settings.load(env_file="")
