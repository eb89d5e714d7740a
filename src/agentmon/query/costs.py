"""`GET /v1/costs`: what model calls cost over a range, by time, model, agent, project and
framework, with the sessions that cost the most; declared field by field."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from agentmon.events import ms_to_ts, ts_to_ms
from agentmon.query.budgets import BudgetStatus, budget_statuses
from agentmon.query.models import CostSource, ErrorResponse, Model, Timestamp, Tokens
from agentmon.query.params import BadParameter, check_text_params, timestamp
from agentmon.query.views import cost_fields, iso, tokens
from agentmon.store import Store
from agentmon.store.costs import DAY_MS, HOUR_MS, CostRows, cost_rows
from agentmon.store.queries import Row
from agentmon.store.tables import COST_COUNTS

CostRange = Literal["24h", "7d", "30d"]
Bucket = Literal["hour", "day"]
RANGE_MS = {"24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
MAX_RANGE_MS = 400 * DAY_MS
MAX_HOURLY_MS = 31 * DAY_MS  # hour buckets up to a month (744 points)
HOURLY_UP_TO_MS = 3 * DAY_MS  # the default bucket: hours up to three days, days beyond

_BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A parameter is invalid (the error names it)"}
}


class CostTotals(Model):
    calls: int = Field(description="Model calls counted")
    sessions: int = Field(description="Sessions those calls belong to")
    tokens: Tokens
    cost_usd: float | None = Field(
        None, description="USD of the priced calls; null when none had a price (≠ free)"
    )
    cost_source: CostSource | None = Field(
        None,
        description='"reported", "estimated", "mixed", "none" (tokens, no price), or null '
        "(no model calls)",
    )
    reported_calls: int
    estimated_calls: int
    unpriced_calls: int = Field(description="Calls of models no price is known for")


class CostPoint(CostTotals):
    ts: Timestamp = Field(description="The bucket's start")
    t: int = Field(description="The bucket's start in epoch seconds")


class ModelCost(CostTotals):
    model: str = Field(
        description='The model the calls named ("" when they named none); of a model named '
        "several ways, the name most calls used"
    )
    names: list[str] = Field(
        description="Every name of this model the calls used, most calls first: one model "
        'named differently by different tools ("claude-sonnet-4-6", '
        '"anthropic/claude-sonnet-4.6") is one row'
    )


class AgentCost(CostTotals):
    agent_id: str = Field(description="framework/client id (or host), as /v1/agents names it")
    framework: str | None
    client_id: str | None
    host: str | None


class ProjectCost(CostTotals):
    cwd: str | None = Field(description="The sessions' working directory; null: not reported")


class FrameworkCost(CostTotals):
    framework: str | None


class SessionCost(CostTotals):
    session_id: str
    title: str | None
    framework: str | None
    host: str | None
    client_id: str | None
    cwd: str | None
    model: str | None
    started_at: Timestamp | None


class Costs(Model):
    from_: Timestamp = Field(alias="from", description="Start (rounded down to the hour)")
    to: Timestamp
    bucket: Bucket
    bucket_seconds: int
    timezone: Literal["UTC"] = "UTC"
    total: CostTotals
    series: list[CostPoint] = Field(description="Every bucket of the range, oldest first")
    by_model: list[ModelCost] = Field(description="Most expensive first (100 at most)")
    by_agent: list[AgentCost] = Field(description="Most expensive first (100 at most)")
    by_project: list[ProjectCost] = Field(description="Most expensive first (100 at most)")
    by_framework: list[FrameworkCost] = Field(description="Most expensive first (100 at most)")
    top_sessions: list[SessionCost] = Field(description="The sessions that cost the most")
    budgets: list[BudgetStatus] = Field(description="Every budget, in its current period")


def _totals(row: Row) -> dict[str, Any]:
    return {
        "calls": int(row.get("calls") or 0),
        "sessions": int(row.get("sessions") or 0),
        "tokens": tokens(row),
        **cost_fields(row),
        **{name: int(row.get(name) or 0) for name in COST_COUNTS},
    }


def agent_id(framework: str | None, agent: str | None) -> str:
    return f"{framework or ''}/{agent or ''}"


def costs_view(rows: CostRows, bucket: Bucket, budgets: list[BudgetStatus] | None = None) -> Costs:
    by_bucket = {int(row["b"]): row for row in rows.series}
    first = rows.start // rows.bucket_ms * rows.bucket_ms
    series = [
        CostPoint(ts=ms_to_ts(b), t=b // 1000, **_totals(by_bucket.get(b, {})))
        for b in range(first, rows.end, rows.bucket_ms)
    ]
    agents = [
        AgentCost(
            agent_id=agent_id(r["framework"], r["agent"]),
            framework=r["framework"],
            client_id=r["client_id"],
            host=r["host"],
            **_totals(r),
        )
        for r in rows.by_agent
    ]
    return Costs.model_validate(
        {
            "from": ms_to_ts(rows.start),
            "to": ms_to_ts(rows.end),
            "bucket": bucket,
            "bucket_seconds": rows.bucket_ms // 1000,
            "total": CostTotals(**_totals(rows.total)),
            "series": series,
            "by_model": [
                ModelCost(model=r["model"], names=r["names"], **_totals(r)) for r in rows.by_model
            ],
            "by_agent": agents,
            "by_project": [ProjectCost(cwd=r["cwd"], **_totals(r)) for r in rows.by_project],
            "by_framework": [
                FrameworkCost(framework=r["framework"], **_totals(r)) for r in rows.by_framework
            ],
            "top_sessions": [_session_cost(r) for r in rows.top_sessions],
            "budgets": budgets or [],
        }
    )


def _session_cost(row: Row) -> SessionCost:
    started = row.get("started_at") if row.get("started_at") is not None else row.get("first_ts")
    return SessionCost(
        session_id=row["session_id"],
        title=row.get("title"),
        framework=row.get("framework"),
        host=row.get("host"),
        client_id=row.get("client_id"),
        cwd=row.get("cwd"),
        model=row.get("model"),
        started_at=iso(started),
        **{**_totals(row), "sessions": 1},
    )


def cost_range(
    from_: str | None, to: str | None, range_: CostRange, bucket: Bucket | None, now_ms: int
) -> tuple[int, int, Bucket]:
    """[start, end) in epoch ms and the bucket, checked; errors name the parameter."""
    start_ts, end_ts = timestamp("from", from_), timestamp("to", to)
    end = ts_to_ms(end_ts) if end_ts else now_ms
    start = ts_to_ms(start_ts) if start_ts else end - RANGE_MS[range_]
    if start >= end:
        raise BadParameter("query parameter 'from': must be before 'to'")
    if end - start > MAX_RANGE_MS:
        raise BadParameter("query parameters 'from' and 'to': at most 400 days apart")
    chosen: Bucket = bucket or ("hour" if end - start <= HOURLY_UP_TO_MS else "day")
    if chosen == "hour" and end - start > MAX_HOURLY_MS:
        raise BadParameter("query parameter 'bucket': 'hour' covers at most 31 days; use 'day'")
    return start, end, chosen


def costs_routes(store: Store) -> APIRouter:
    router = APIRouter(dependencies=[Depends(check_text_params)])

    @router.get("/v1/costs", tags=["costs"], responses=_BAD_REQUEST)
    async def costs(
        from_: Annotated[
            str | None,
            Query(alias="from", description="Start (RFC 3339); default: `to` minus `range`"),
        ] = None,
        to: Annotated[str | None, Query(description="End (RFC 3339); default: now")] = None,
        range_: Annotated[
            CostRange, Query(alias="range", description="The span when `from` is not given")
        ] = "7d",
        bucket: Annotated[
            Bucket | None, Query(description="Series resolution; default: hour up to 3 days")
        ] = None,
        top: Annotated[int, Query(ge=1, le=100, description="Top sessions listed")] = 10,
    ) -> Costs:
        now_ms = int(time.time() * 1000)
        start, end, chosen = cost_range(from_, to, range_, bucket, now_ms)
        bucket_ms = HOUR_MS if chosen == "hour" else DAY_MS
        rows, budgets = await asyncio.gather(
            cost_rows(store, start, end, bucket_ms, top), budget_statuses(store, now_ms)
        )
        return costs_view(rows, chosen, budgets)

    return router
