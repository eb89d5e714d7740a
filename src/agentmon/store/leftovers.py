"""What agents on given hosts left in the store: when they were last heard and which of
their sessions are still open. A restarted demo reads this to continue its own history
instead of laying a second day over the first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentmon.store.queries import Queries


@dataclass(frozen=True)
class OpenSession:
    session_id: str
    framework: str | None
    host: str | None
    last_ms: int


@dataclass(frozen=True)
class Leftovers:
    last_ms: int | None
    """The last event of any session on these hosts; None when they have none."""
    open_sessions: tuple[OpenSession, ...]


async def leftovers(store: Queries, hosts: Sequence[str]) -> Leftovers:
    host_in, params = store.in_list("host", list(hosts))
    last, open_rows = await store.fetch_each(
        [
            (f"SELECT max(last_ts) AS last_ms FROM sessions WHERE {host_in}", params),
            (
                "SELECT session_id, framework, host, last_ts FROM sessions "
                f"WHERE {host_in} AND ended_at IS NULL ORDER BY session_id",
                params,
            ),
        ]
    )
    last_ms = last[0]["last_ms"] if last else None
    return Leftovers(
        int(last_ms) if last_ms is not None else None,
        tuple(
            OpenSession(r["session_id"], r["framework"], r["host"], int(r["last_ts"]))
            for r in open_rows
        ),
    )
