"""The server processes collect garbage less often once started: what start-up built is
frozen out of the collector's walks and the youngest generation's threshold is raised
(bench/bench_ingest.py --stages --gc default|server measures the difference)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from agentmon.config import Settings
from agentmon.runtime import GC_YOUNG_THRESHOLD, Runtime


class Seen(Exception):
    """Ends the runtime once its task has looked (a failing task stops a runtime)."""


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


async def test_a_running_server_has_frozen_its_start_up_and_raised_the_threshold(
    restored_gc: None,
) -> None:
    assert gc.get_threshold()[0] < GC_YOUNG_THRESHOLD
    seen: list[tuple[tuple[int, int, int], int]] = []

    async def look() -> None:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        raise Seen

    runtime = Runtime(Settings.load({}, env_file=""))
    runtime.background("look", look)
    await runtime.run()
    [(threshold, frozen)] = seen
    assert threshold[0] == GC_YOUNG_THRESHOLD
    assert frozen > 0
