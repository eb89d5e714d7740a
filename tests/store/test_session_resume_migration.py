"""Migration 022 on rows stored before it: a session whose run started after its end reads
open, as the write path now keeps it; a session that ended after its runs stays ended."""

from __future__ import annotations

from tests.store.test_agents_read_model import MIGRATION, run_sql
from tests.store.test_contract import at, ev, first_stint, resumed, session_detail

from agentmon.store import Store

# the columns as stored before 022: the latest end only
BEFORE_022 = "UPDATE sessions SET ended_at = last_end_ts, last_end_ts = NULL, last_start_ts = NULL"


async def test_the_migration_reopens_sessions_resumed_before_it(store: Store) -> None:
    await store.write(first_stint() + resumed() + [ev("session.end", 30, session="s2")])
    await store.write([ev("session.start", 10, session="s2")])
    await run_sql(store, BEFORE_022)
    assert (await session_detail(store, "s1"))["session"]["status"] == "ended"

    script = (MIGRATION / store.dialect / "022_session_resume.sql").read_text()
    await run_sql(store, script.split("-- What was stored before, folded in once.")[1])
    resumed_session = (await session_detail(store, "s1"))["session"]
    assert (resumed_session["status"], resumed_session["ended_at"]) == ("active", None)
    ended = (await session_detail(store, "s2"))["session"]
    assert ended["status"] == "ended"
    assert ended["ended_at"].startswith(at(30).strftime("%Y-%m-%dT%H:%M:%S"))
