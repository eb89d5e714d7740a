"""Every alert agentmon raised (the `alert_history` table): what fired, about what, when,
whether the webhook took it, and who acknowledged it.

The processor that claimed an alert (store/claims.py: alert_claims, budget_alerts) records it
once, before delivering it; the delivery outcome follows: `pending` until the webhook
answers, then `delivered` or `failed`, or `no_webhook` when AGENTMON_ALERT_WEBHOOK is not set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from agentmon.store.base import Store
from agentmon.store.queries import NotFound, Row

Delivery = Literal["pending", "delivered", "failed", "no_webhook"]
SubjectType = Literal["session", "vm", "budget"]
MAX_ACKED_BY_CHARS = 200


@dataclass(frozen=True)
class AlertFilters:
    kind: str | None = None
    since_ms: int | None = None
    acknowledged: bool | None = None
    before_id: int | None = None  # paging: only alerts older than this one


async def record(
    store: Store,
    kind: str,
    subject_type: SubjectType,
    subject: str,
    message: str,
    delivery: Delivery,
    fired_ms: int | None = None,
) -> int:
    """Store a raised alert; its id. Only the processor that claimed the alert records it, so
    (kind, subject, fired_ms) finds the row it wrote."""
    fired_ms = fired_ms or _now_ms()
    await store.execute(
        "INSERT INTO alert_history (kind, subject_type, subject, message, fired_ms, delivery) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [kind, subject_type, subject, message, fired_ms, delivery],
    )
    rows = await store.fetch(
        "SELECT max(id) AS id FROM alert_history WHERE kind = ? AND subject = ? AND fired_ms = ?",
        [kind, subject, fired_ms],
    )
    return int(rows[0]["id"])


async def set_delivery(
    store: Store, alert_id: int, delivery: Delivery, now_ms: int | None = None
) -> None:
    await store.execute(
        "UPDATE alert_history SET delivery = ?, delivered_ms = ? WHERE id = ?",
        [delivery, (now_ms or _now_ms()) if delivery == "delivered" else None, alert_id],
    )


async def alerts(store: Store, filters: AlertFilters, limit: int) -> list[Row]:
    """The alerts matching the filters, newest first, at most `limit`."""
    where: list[str] = ["1 = 1"]
    params: list[object] = []
    if filters.kind is not None:
        where.append("kind = ?")
        params.append(filters.kind)
    if filters.since_ms is not None:
        where.append("fired_ms >= ?")
        params.append(filters.since_ms)
    if filters.acknowledged is not None:
        where.append("acked_ms IS NOT NULL" if filters.acknowledged else "acked_ms IS NULL")
    if filters.before_id is not None:
        where.append("id < ?")
        params.append(filters.before_id)
    return await store.fetch(
        f"SELECT * FROM alert_history WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )


async def acknowledge(store: Store, alert_id: int, by: str, now_ms: int | None = None) -> Row:
    """Record that `by` has seen the alert (the first acknowledgement stays); the alert."""
    await store.execute(
        "UPDATE alert_history SET acked_by = ?, acked_ms = ? WHERE id = ? AND acked_ms IS NULL",
        [by[:MAX_ACKED_BY_CHARS], now_ms or _now_ms(), alert_id],
    )
    rows = await store.fetch("SELECT * FROM alert_history WHERE id = ?", [alert_id])
    if not rows:
        raise NotFound(f"no alert {alert_id}")
    return rows[0]


def _now_ms() -> int:
    return int(time.time() * 1000)
