"""Claims in the store: several event processors may watch one store, and of those that would
send the same alert only the one whose claim lands sends it (and records it in the alert
history, store/alert_history.py).

A claim is a row under a unique key. Once taken it stays (a budget crossed in a period,
`budget_alerts`), or, with `expired_before`, it is taken again when its time column is older
than that (an attention or VM alert after its cooldown, `alert_claims`). The claim is one
INSERT … ON CONFLICT statement, so two processors asking at once, on SQLite or PostgreSQL,
get one yes.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentmon.store.base import Store


async def claim(
    store: Store,
    table: str,
    key: Mapping[str, object],
    values: Mapping[str, object],
    expired_before: tuple[str, int] | None = None,
) -> bool:
    """Whether this caller took the claim: its row (the `key` columns, then `values`) was
    written. `expired_before=(column, ms)` takes over a claim whose `column` is below `ms`
    (its `values` overwrite the old ones); without it a claim, once there, is never retaken."""
    columns = [*key, *values]
    params = [*key.values(), *values.values()]
    conflict = f"ON CONFLICT ({', '.join(key)})"
    if expired_before is None:
        conflict += " DO NOTHING"
    else:
        column, before_ms = expired_before
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        conflict += f" DO UPDATE SET {updates} WHERE {table}.{column} < ?"
        params.append(before_ms)
    changed = await store.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) {conflict}",
        params,
    )
    return changed > 0
