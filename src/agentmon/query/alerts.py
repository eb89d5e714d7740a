"""`GET /v1/alerts` and `POST /v1/alerts/{id}/ack`: the alert history (store/alert_history.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from agentmon.csrf import IDENTITY, check_change
from agentmon.events import ms_to_ts, ts_to_ms
from agentmon.query.models import ErrorResponse, Model, Timestamp
from agentmon.query.params import check_text_params, timestamp
from agentmon.store import Store
from agentmon.store.alert_history import AlertFilters, acknowledge, alerts
from agentmon.store.attention import ANONYMOUS
from agentmon.store.queries import Row

AlertKind = Literal[
    "waiting_for_human",
    "run_failed",
    "error",
    "stuck",
    "looping",
    "lost",
    "budget",
    "vm_down",
    "vm_silent",
    "vm_disk",
    "vm_memory",
]
# the id is a signed 64-bit integer in both stores
LARGEST_ID = 2**63 - 1


class Acknowledgement(Model):
    by: str
    at: Timestamp


class AlertRecord(Model):
    id: int
    kind: str = Field(description="What fired: one of the AlertKind words")
    subject_type: Literal["session", "vm", "budget"]
    subject: str = Field(description="The session id, VM name or budget id")
    message: str
    fired_at: Timestamp
    delivery: Literal["pending", "delivered", "failed", "no_webhook"] = Field(
        description='"no_webhook": recorded only (AGENTMON_ALERT_WEBHOOK is not set)'
    )
    delivered: bool
    delivered_at: Timestamp | None
    acknowledged: Acknowledgement | None


class AlertPage(Model):
    alerts: list[AlertRecord] = Field(description="Newest first")
    next_before: int | None = Field(description="`before` for the next (older) page, or null")


def alert_view(row: Row) -> AlertRecord:
    acked = row["acked_ms"]
    return AlertRecord(
        id=int(row["id"]),
        kind=row["kind"],
        subject_type=row["subject_type"],
        subject=row["subject"],
        message=row["message"],
        fired_at=ms_to_ts(int(row["fired_ms"])),
        delivery=row["delivery"],
        delivered=row["delivery"] == "delivered",
        delivered_at=ms_to_ts(int(row["delivered_ms"])) if row["delivered_ms"] else None,
        acknowledged=Acknowledgement(by=row["acked_by"], at=ms_to_ts(int(acked)))
        if acked is not None
        else None,
    )


ACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The id is not a whole number above 0"},
    403: {"model": ErrorResponse, "description": "Not sent by the agentmon page (CSRF)"},
    404: {"model": ErrorResponse, "description": "No such alert"},
}


def alerts_routes(store: Store) -> APIRouter:
    router = APIRouter(tags=["alerts"], dependencies=[Depends(check_text_params)])

    @router.get(
        "/v1/alerts",
        responses={400: {"model": ErrorResponse, "description": "A filter is invalid"}},
    )
    async def alert_list(
        kind: AlertKind | None = None,
        since: Annotated[str | None, Query(description="Fired at or after (RFC 3339)")] = None,
        acknowledged: Annotated[
            bool | None, Query(description="true: acknowledged only; false: open only")
        ] = None,
        before: Annotated[
            int | None, Query(ge=1, le=LARGEST_ID, description="next_before of the last page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> AlertPage:
        """Every alert agentmon raised, newest first, with its delivery and acknowledgement."""
        start = timestamp("since", since)
        filters = AlertFilters(kind, ts_to_ms(start) if start else None, acknowledged, before)
        rows = await alerts(store, filters, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return AlertPage(
            alerts=[alert_view(row) for row in rows],
            next_before=int(rows[-1]["id"]) if more else None,
        )

    @router.post("/v1/alerts/{alert_id}/ack", responses=ACK_RESPONSES)
    async def acknowledge_alert(
        alert_id: Annotated[int, Path(ge=1, le=LARGEST_ID)], request: Request
    ) -> AlertRecord:
        """Acknowledge the alert for everyone (the first acknowledgement stays). Read keys may
        acknowledge, as with attention items."""
        check_change(request.scope)
        identity = request.scope.get(IDENTITY)
        by = identity.name if identity is not None else ANONYMOUS
        return alert_view(await acknowledge(store, alert_id, by))

    return router
