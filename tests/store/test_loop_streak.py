"""The loop check's write-time streak (runs.loop_streak, migration 023), on both stores: the
same streaks and the same looping sessions (with the same start) in any delivery order,
under redelivery, and from the migration's backfill as from the write path."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.store.test_agents_read_model import MIGRATION, run_sql
from tests.store.test_attention import ev, loops, tool

from agentmon.events import Envelope, ts_to_ms
from agentmon.store import Store
from agentmon.store.loops import STREAK_CAP
from agentmon.store.queries import Attention


def calls() -> list[Envelope]:
    """`loops()` plus: `broken`, five alike then a different one (streak 1); `split`, each
    call's input on its span.start and its error on its span.end; `mixed`, two alike calls
    then three failing alike with other inputs (the error streak, 3, wins over the input's)."""
    same = {"input": {"command": "npm test"}}
    events = loops()
    events += [ev("run.start", 500, session=s, run_id=f"{s}-r") for s in ("broken", "split")]
    events += [ev("run.start", 500, session="mixed", run_id="mixed-r")]
    events += [tool(501 + n, "broken", "broken-r", n, **same) for n in range(5)]
    events.append(tool(507, "broken", "broken-r", 5, input={"command": "ls"}))
    for n in range(5):
        start = ev(
            "span.start",
            510 + n,
            session="split",
            run_id="split-r",
            span_id=f"split-r-{n}",
            payload={"kind": "tool", "name": "Bash", "input": {"n": n}},
        )
        end = ev(
            "span.end",
            510.5 + n,
            session="split",
            run_id="split-r",
            span_id=f"split-r-{n}",
            payload={"kind": "tool", "name": "Bash", "status": "error", "error": "EACCES"},
        )
        events += [start, end]
    events += [tool(501 + n, "mixed", "mixed-r", n, **same) for n in range(2)]
    events += [
        tool(503 + n, "mixed", "mixed-r", 2 + n, input={"n": n}, error="timeout") for n in range(3)
    ]
    return events


EXPECTED_STREAKS = {
    "loop-r": 5,
    "err-loop-r": 5,
    "four-r": 4,
    "varied-r": 1,
    "broken-r": 1,
    "split-r": 5,
    "mixed-r": 3,
}


async def streaks(store: Store) -> dict[str, int]:
    rows = await store.fetch("SELECT run_id, loop_streak FROM runs", [])
    return {row["run_id"]: int(row["loop_streak"]) for row in rows}


async def looping(store: Store) -> dict[str, int]:
    return (await store.status_context()).looping


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param(lambda e: [e], id="one-batch"),
        pytest.param(lambda e: [e[::-1]], id="one-batch-reversed"),
        pytest.param(lambda e: [[x] for x in e[::-1]], id="one-by-one-reversed"),
        pytest.param(lambda e: [e[1::2], e[::2]], id="interleaved"),
        pytest.param(lambda e: [e, e[5:], e[:20]], id="redelivered"),
    ],
)
async def test_the_streak_is_the_same_in_any_order(
    store: Store, batches: Callable[[list[Envelope]], list[list[Envelope]]]
) -> None:
    events = calls()
    for batch in batches(events):
        await store.write(batch)
    assert await streaks(store) == EXPECTED_STREAKS
    found = await looping(store)
    assert set(found) == {"loop", "err-loop", "split"}
    # from the first of the repeated calls: the span's start, else its first sight
    first = {e.correlation.span_id: ts_to_ms(e.event.ts) for e in reversed(events)}
    assert found == {s: first[f"{s}-r-0"] for s in ("loop", "err-loop", "split")}


async def test_a_late_call_that_differs_breaks_the_loop(store: Store) -> None:
    """A call delivered last but first seen before the loop's calls does not break it; one
    seen after them does."""
    events = calls()
    await store.write(events)
    await store.write([tool(400, "loop", "loop-r", 90, input={"command": "ls"})])
    assert (await streaks(store))["loop-r"] == 5
    await store.write([tool(590, "loop", "loop-r", 91, input={"command": "ls"})])
    assert (await streaks(store))["loop-r"] == 1
    assert "loop" not in await looping(store)


async def test_the_migration_backfills_what_the_write_path_keeps(store: Store) -> None:
    await store.write(calls())
    written, written_loops = await streaks(store), await looping(store)
    await run_sql(store, "UPDATE runs SET loop_streak = 0")
    assert set((await streaks(store)).values()) == {0}
    script = (MIGRATION / store.dialect / "023_loop_streak.sql").read_text()
    await run_sql(store, script.split("-- What was stored before, folded in once.")[1])
    assert await streaks(store) == written == EXPECTED_STREAKS
    assert await looping(store) == written_loops


async def test_a_long_loop_is_counted_up_to_the_cap_by_both_paths(store: Store) -> None:
    """A run repeating one call more than STREAK_CAP times: the write path reads only its
    newest STREAK_CAP calls, the backfill counts the same, and a repeat setting above the
    cap asks for the cap."""
    same = {"input": {"command": "npm test"}}
    events = [ev("run.start", 100, session="long", run_id="long-r")]
    events += [tool(101 + n / 10, "long", "long-r", n, **same) for n in range(STREAK_CAP + 2)]
    await store.write(events)
    assert (await streaks(store))["long-r"] == STREAK_CAP
    store.attention = Attention(loop_repeats=STREAK_CAP * 2)
    assert set(await looping(store)) == {"long"}
    await run_sql(store, "UPDATE runs SET loop_streak = 0")
    script = (MIGRATION / store.dialect / "023_loop_streak.sql").read_text()
    await run_sql(store, script.split("-- What was stored before, folded in once.")[1])
    assert (await streaks(store))["long-r"] == STREAK_CAP
