"""The roster's reads on PostgreSQL (`PostgresStore.reading`): one read-only transaction on
one connection, with custom plans (a cached statement's generic plan scans the status CASE's
parameter arrays for every session), left clean behind it, directly and behind PgBouncer's
transaction pooling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from tests.store.test_attention import ev
from tests.store.test_pgbouncer import holding_a_server_connection, pgbouncer  # noqa: F401

from agentmon.events import Envelope
from agentmon.store import Store
from agentmon.store.agents import roster
from agentmon.store.attention import attention
from agentmon.store.postgres import PostgresStore

# what a read sees of its transaction: the server connection, the transaction's start time
# (one per transaction), and the two settings `reading` sets
STATE = (
    "SELECT pg_backend_pid() AS pid, now() AS started, "
    "current_setting('plan_cache_mode') AS plans, "
    "current_setting('transaction_read_only') AS read_only, "
    "current_setting('transaction_isolation') AS isolation"
)
READING = {"plans": "force_custom_plan", "read_only": "on", "isolation": "repeatable read"}


def settings_of(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in READING}


def call(t: float, session: str, n: int, host: str, **payload: Any) -> Envelope:
    """Tool call `n` of the session's run `<session>-r`, on `host` (its client id too)."""
    run = f"{session}-r"
    body = {"kind": "tool", "status": "ok", "name": "Bash", **payload}
    span = {"run_id": run, "span_id": f"{run}-{n}", "client_id": host}
    return ev("span.end", t, session=session, host=host, **span, payload=body)


def agents() -> list[Envelope]:
    """One agent (host) in each state: stuck, looping, waiting, lost, working, failed, ended."""
    same = {"input": {"command": "npm test"}}
    return [
        ev("run.start", -60, session="st", run_id="st-r", host="stuck"),
        ev("run.start", 500, session="lp", run_id="lp-r", host="loops", client_id="loops"),
        *(call(501 + n, "lp", n, "loops", **same) for n in range(5)),
        ev("run.start", 580, session="w", run_id="w-r", host="asks"),
        ev(
            "metric.snapshot",
            581,
            session="w",
            host="asks",
            payload={"agent_state": "waiting_for_human", "message": "Allow Bash?"},
        ),
        ev("run.start", 585, session="vm-s", run_id="vm-s-r", host="vm-1", client_id="vm-1"),
        call(586, "vm-s", 0, "vm-1", name="Read"),
        ev(
            "openclaw.snapshot",
            590,
            session=None,
            host="vm-1",
            client_id="vm-1",
            payload={"instance": "vm-1", "state": "shutoff", "issues": []},
        ),
        ev("run.start", 590, session="busy", run_id="busy-r", host="busy"),
        ev("run.start", 560, session="f", run_id="f-r", host="fails"),
        ev("run.end", 570, session="f", run_id="f-r", host="fails", payload={"status": "error"}),
        ev("run.start", 550, session="d", run_id="d-r", host="done"),
        ev("run.end", 551, session="d", run_id="d-r", host="done", payload={"status": "ok"}),
        ev("session.end", 552, session="d", host="done"),
    ]


@pytest.fixture
async def pg_store(make_migrated_database: Callable[[], str]) -> Any:
    store = PostgresStore(make_migrated_database(), pool_size=2)
    await store.open()
    yield store
    await store.close()


async def test_reads_in_reading_share_one_read_only_transaction_with_custom_plans(
    pg_store: PostgresStore,
) -> None:
    outside = (await pg_store.fetch(STATE, []))[0]
    assert outside["plans"] == "auto" and outside["read_only"] == "off"
    async with pg_store.reading():
        # side by side, as the roster asks some of them: they take turns on the connection
        rows = await asyncio.gather(*(pg_store.fetch(STATE, []) for _ in range(4)))
        later = await pg_store.fetch_each([(STATE, []), (STATE, [])])
        async with pg_store.reading():  # nested: the outer one serves
            nested = await pg_store.fetch(STATE, [])
    seen = [row[0] for row in [*rows, *later, nested]]
    assert {(row["pid"], row["started"]) for row in seen} == {(seen[0]["pid"], seen[0]["started"])}
    assert all(settings_of(row) == READING for row in seen)
    after = (await pg_store.fetch(STATE, []))[0]
    assert after["plans"] == "auto" and after["read_only"] == "off"
    assert after["started"] != seen[0]["started"]


async def test_a_failed_read_leaves_no_transaction_or_setting_behind(
    pg_store: PostgresStore,
) -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        async with pg_store.reading():
            await pg_store.fetch("SELECT * FROM no_such_table", [])
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with pg_store.reading():
            await pg_store.fetch("INSERT INTO agents (framework, agent) VALUES ('x', 'y')", [])
    # every connection of the pool, at once: none is left in a transaction or with the setting
    states = await asyncio.gather(*(pg_store.fetch(STATE, []) for _ in range(4)))
    assert all(row[0]["plans"] == "auto" and row[0]["read_only"] == "off" for row in states)
    assert await pg_store.fetch("SELECT count(*) AS n FROM agents", []) == [{"n": 0}]


async def roster_statuses(store: PostgresStore) -> set[str]:
    return {row["status"] for row in (await roster(store, "24h")).sessions}


async def attention_kinds(store: PostgresStore) -> set[str]:
    found = await attention(store, store._now_ms() - 3_600_000)
    return {kind for kind, items in found.items.items() if items}


@pytest.mark.parametrize("answer", [roster_statuses, attention_kinds])
async def test_an_answer_reads_in_one_transaction(
    pg_store: PostgresStore, answer: Callable[[PostgresStore], Awaitable[set[str]]]
) -> None:
    """The roster's reads and the attention list's: one snapshot, custom plans."""
    await pg_store.write(agents())
    plain_fetch = pg_store.fetch
    seen: list[dict[str, Any]] = []

    async def fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = await plain_fetch(sql, params)
        seen.append((await plain_fetch(STATE, []))[0])
        return rows

    pg_store.fetch = fetch  # type: ignore[method-assign]
    assert await answer(pg_store) >= {"stuck", "waiting", "looping", "lost"}
    assert len(seen) >= 4
    assert len({(row["pid"], row["started"]) for row in seen}) == 1
    assert all(settings_of(row) == READING for row in seen)


def answer(found: Any) -> list[tuple[Any, ...]]:
    return [
        (row["framework"], row["agent"], row["status"], row["session_id"], row["since_ms"])
        for row in found.sessions
    ]


async def test_the_roster_reads_the_same_behind_transaction_pooling(
    pgbouncer: str,  # noqa: F811
    make_migrated_database: Callable[[], str],
) -> None:
    """No statement cache (as PgBouncer needs), another server connection for every
    transaction: the same answer as directly, and no setting left on a server connection."""
    direct_dsn = make_migrated_database()
    pooled_dsn = f"{pgbouncer}{urlsplit(direct_dsn).path}"
    direct, pooled = PostgresStore(direct_dsn), PostgresStore(pooled_dsn, statement_cache_size=0)
    await direct.open()
    await pooled.open()
    try:
        await direct.write(agents())
        now_ms = direct._now_ms()
        expected = answer(await roster(direct, "24h", now_ms))
        assert len(expected) >= 6
        for _ in range(3):
            async with holding_a_server_connection(pooled_dsn):
                assert answer(await roster(pooled, "24h", now_ms)) == expected
            assert answer(await roster(pooled, "24h", now_ms)) == expected
        for _ in range(4):  # each transaction on the next server connection (round robin)
            row = (await pooled.fetch(STATE, []))[0]
            assert row["plans"] == "auto" and row["read_only"] == "off"
    finally:
        await pooled.close()
        await direct.close()


async def test_the_roster_answers_alike_on_both_stores_many_times(store: Store) -> None:
    """More than five times, past where PostgreSQL would switch a cached statement to its
    generic plan: the same answer every time."""
    await store.write(agents())
    now_ms = store._now_ms()
    first = answer(await roster(store, "24h", now_ms))
    assert sorted(row[2] for row in first) == sorted(
        ("stuck", "looping", "waiting", "lost", "active", "error", "ended")
    )
    for _ in range(7):
        assert answer(await roster(store, "24h", now_ms)) == first


def speakers() -> list[Envelope]:
    """`box`: an older open session waits, its latest works; `healed`: a failed session, then
    a newer one working; `broken`: its latest session failed, an older one ended well; `two`:
    two open sessions, the older stuck; `gone`: its only session ended long ago (outside)."""
    ask = {"agent_state": "waiting_for_human", "message": "Continue?"}
    failed = {"status": "error"}
    return [
        ev("run.start", 500, session="box-old", run_id="box-old-r", host="box"),
        ev("metric.snapshot", 510, session="box-old", host="box", payload=ask),
        ev("run.start", 590, session="box-new", run_id="box-new-r", host="box"),
        ev("run.start", 400, session="healed-1", run_id="h1", host="healed"),
        ev("run.end", 410, session="healed-1", run_id="h1", host="healed", payload=failed),
        ev("session.end", 411, session="healed-1", host="healed"),
        ev("run.start", 595, session="healed-2", run_id="h2", host="healed"),
        ev("run.start", 300, session="broken-1", run_id="b1", host="broken"),
        ev("run.end", 310, session="broken-1", run_id="b1", host="broken", payload={}),
        ev("session.end", 311, session="broken-1", host="broken"),
        ev("run.start", 550, session="broken-2", run_id="b2", host="broken"),
        ev("run.end", 560, session="broken-2", run_id="b2", host="broken", payload=failed),
        ev("session.end", 561, session="broken-2", host="broken"),
        ev("run.start", -30, session="two-old", run_id="two-old-r", host="two"),
        ev("run.start", 598, session="two-new", run_id="two-new-r", host="two"),
        ev("session.start", -90_000, session="gone-1", host="gone"),
        ev("session.end", -89_999, session="gone-1", host="gone"),
    ]


async def test_each_agent_speaks_through_its_most_urgent_candidate(store: Store) -> None:
    """The candidates are every agent's latest session and its other open ones; a failure
    speaks only while it is the latest; an agent silent for longer than the window is not
    listed. In any delivery order, on both stores."""
    events = speakers()
    for batch in (events[::2], events[1::2]):  # interleaved: later events before earlier
        await store.write(batch)
    found = await roster(store, "24h")
    chosen = {row["agent"]: (row["session_id"], row["status"]) for row in found.sessions}
    assert chosen == {
        "box": ("box-old", "waiting"),
        "healed": ("healed-2", "active"),
        "broken": ("broken-2", "error"),
        "two": ("two-old", "stuck"),
    }
    assert [row["agent"] for row in found.sessions] == ["box", "two", "broken", "healed"]
    assert found.total == 4 and sum(found.counts.values()) == 4
