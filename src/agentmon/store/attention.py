"""What needs a person, over a window, and who acknowledged it (the `attention_acks` table).

An item is a session in one of the attention kinds, which are the session statuses of the
same name: `waiting` (asks a human), `stuck`, `looping`, `lost` and `error` (its last run
failed). Each item has an occurrence time: when the wait began (its last event), when it got
stuck (last event + the stuck threshold), when the loop began, when its VM was lost, when the
failed run was last heard of. An acknowledgement stores the occurrence it saw; an item whose
occurrence is later (a new wait, a new failure) is open again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agentmon.store.base import Store
from agentmon.store.claims import claim
from agentmon.store.queries import NotFound, Row, StatusContext

# most urgent first; the same words as the session statuses (and `status=` filters)
ATTENTION_KINDS = ("waiting", "stuck", "looping", "lost", "error")
# who acknowledged, when nobody has to prove who they are (no key configured)
ANONYMOUS = "anonymous"
MAX_ACKED_BY_CHARS = 200


class NotInKind(ValueError):
    """The session is not (or no longer) in the kind asked about."""


@dataclass(frozen=True)
class Ack:
    occurred_ms: int
    acked_by: str
    acked_ms: int


@dataclass
class AttentionRows:
    since_ms: int
    now_ms: int
    # kind → its items, latest occurrence first: session rows with `status`, `occurred_ms`
    # and `ack` (an Ack for this occurrence, or None)
    items: dict[str, list[Row]] = field(default_factory=dict)
    open: dict[str, int] = field(default_factory=dict)  # kind → items not acknowledged
    acknowledged: dict[str, int] = field(default_factory=dict)


def occurred_ms(row: Row, ctx: StatusContext, stuck_after_ms: int) -> int | None:
    """When the session entered its current attention kind, or None if it is in none."""
    status, last_ts = row["status"], int(row["last_ts"] or 0)
    if status == "waiting":
        return last_ts
    if status == "stuck":
        return last_ts + stuck_after_ms
    if status == "looping":
        return ctx.looping.get(row["session_id"], last_ts)
    if status == "lost":
        vms = ctx.lost_vms
        return vms.get(row["client_id"] or "", vms.get(row["host"] or "", last_ts))
    if status == "error":
        return int(row["last_run_ts"] or last_ts)
    return None


async def attention(
    store: Store, since_ms: int, limit: int = 50, now_ms: int | None = None
) -> AttentionRows:
    """Every session that entered an attention kind at or after `since_ms`, at most `limit`
    open and `limit` acknowledged per kind (the counts cover all of them): many open items
    never hide the acknowledged ones a person asks to see."""
    async with store.reading():  # one snapshot; on PostgreSQL one connection, custom plans
        return await _attention(store, since_ms, limit, now_ms or int(time.time() * 1000))


async def _attention(store: Store, since_ms: int, limit: int, now_ms: int) -> AttentionRows:
    ctx = await store.status_context(now_ms)
    status_sql, status_params = store._status_case(ctx)
    stuck_after = store.attention.stuck_after_ms
    # a stuck session's last event is older than its occurrence by the stuck threshold; an
    # ended one needs a person only when its last run failed
    rows = await store.fetch(
        f"SELECT s.*, {status_sql} AS status FROM sessions s "
        "WHERE s.ended_at IS NULL AND s.last_ts >= ? "
        f"UNION ALL SELECT s.*, {status_sql} AS status FROM sessions s "
        "WHERE s.ended_at IS NOT NULL AND s.last_ts >= ? AND s.last_run_status = 'error'",
        [*status_params, since_ms - stuck_after, *status_params, since_ms],
    )
    found = AttentionRows(since_ms, now_ms, {kind: [] for kind in ATTENTION_KINDS})
    for row in rows:
        when = occurred_ms(row, ctx, stuck_after)
        if when is not None and when >= since_ms:
            row["occurred_ms"] = when
            found.items[row["status"]].append(row)
    acks = await _acks(
        store, [row["session_id"] for group in found.items.values() for row in group]
    )
    for kind, group in found.items.items():
        for row in group:
            ack = acks.get((kind, row["session_id"]))
            row["ack"] = ack if ack is not None and ack.occurred_ms >= row["occurred_ms"] else None
        # open ones first, then by latest occurrence
        group.sort(key=lambda r: (r["ack"] is not None, -r["occurred_ms"], r["session_id"]))
        found.acknowledged[kind] = sum(1 for row in group if row["ack"] is not None)
        found.open[kind] = len(group) - found.acknowledged[kind]
        opened = found.open[kind]
        group[:] = group[: min(opened, limit)] + group[opened : opened + limit]
    await store._add_session_counts([row for group in found.items.values() for row in group])
    return found


async def _acks(store: Store, item_ids: list[str]) -> dict[tuple[str, str], Ack]:
    acks: dict[tuple[str, str], Ack] = {}
    for start in range(0, len(item_ids), 500):
        wanted, params = store.in_list("item_id", item_ids[start : start + 500])
        for row in await store.fetch(
            f"SELECT kind, item_id, occurred_ms, acked_by, acked_ms FROM attention_acks "
            f"WHERE {wanted}",
            params,
        ):
            acks[(row["kind"], row["item_id"])] = Ack(
                int(row["occurred_ms"]), row["acked_by"], int(row["acked_ms"])
            )
    return acks


async def current_item(store: Store, kind: str, session_id: str) -> Row:
    """The session as an item of `kind` (with `occurred_ms` and `ack`); NotFound when there is
    no such session, NotInKind when it is not in that kind now."""
    ctx = await store.status_context()
    status_sql, status_params = store._status_case(ctx)
    rows = await store.fetch(
        f"SELECT s.*, {status_sql} AS status FROM sessions s WHERE s.session_id = ?",
        [*status_params, session_id],
    )
    if not rows:
        raise NotFound(f"no session {session_id!r}")
    row = rows[0]
    if row["status"] != kind:
        raise NotInKind(f"session {session_id!r} is not {kind} now (it is {row['status']})")
    row["occurred_ms"] = occurred_ms(row, ctx, store.attention.stuck_after_ms)
    ack = (await _acks(store, [session_id])).get((kind, session_id))
    row["ack"] = ack if ack is not None and ack.occurred_ms >= row["occurred_ms"] else None
    await store._add_session_counts([row])
    return row


async def acknowledge(
    store: Store, kind: str, session_id: str, by: str, now_ms: int | None = None
) -> Row:
    """Record that `by` has seen the session's current `kind` occurrence; the item as now."""
    row = await current_item(store, kind, session_id)
    ack = Ack(int(row["occurred_ms"]), by[:MAX_ACKED_BY_CHARS], now_ms or int(time.time() * 1000))
    await store.execute(
        "INSERT INTO attention_acks (kind, item_id, occurred_ms, acked_by, acked_ms) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, item_id) DO UPDATE SET "
        "occurred_ms = excluded.occurred_ms, acked_by = excluded.acked_by, "
        "acked_ms = excluded.acked_ms",
        [kind, session_id, ack.occurred_ms, ack.acked_by, ack.acked_ms],
    )
    row["ack"] = ack
    return row


async def unacknowledge(store: Store, kind: str, session_id: str) -> bool:
    """Forget the acknowledgement of the item; whether there was one."""
    return (
        await store.execute(
            "DELETE FROM attention_acks WHERE kind = ? AND item_id = ?", [kind, session_id]
        )
        > 0
    )


async def claim_alert(
    store: Store, kind: str, session_id: str, cooldown_ms: int, now_ms: int | None = None
) -> bool:
    """Whether this process may send the `kind` alert of the session now: no process sent
    it within the cooldown. Two processors asking at once get one yes."""
    now_ms = now_ms or int(time.time() * 1000)
    return await claim(
        store,
        "alert_claims",
        {"kind": kind, "item_id": session_id},
        {"claimed_ms": now_ms},
        expired_before=("claimed_ms", now_ms - cooldown_ms),
    )
