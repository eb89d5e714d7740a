"""Budgets on the API: `GET /v1/budgets` (each with what it has spent in its current period
and where that spend is heading), `PUT /v1/budgets` and `DELETE /v1/budgets` (admin keys)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from agentmon.auth import needs
from agentmon.events import ms_to_ts
from agentmon.query.models import CostSource, ErrorResponse, Model, Timestamp
from agentmon.query.params import BadParameter, check_text_params
from agentmon.query.views import cost_fields
from agentmon.store import NotFound, Store
from agentmon.store.budgets import (
    Budget,
    BudgetProblem,
    all_budgets,
    budget_from,
    delete_budget,
    file_budgets,
    period_bounds,
    put_budget,
    spent,
)
from agentmon.store.keys import ADMIN

Scope = Literal["agent", "project", "framework"]
Period = Literal["day", "month"]
BudgetState = Literal["ok", "warning", "over"]
HOUR_MS = 3_600_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The budget is invalid (the error names why)"},
}


class BudgetIn(Model):
    scope: Scope = Field(description="agent (framework/client), project (cwd) or framework")
    target: str = Field(description='e.g. "claude-code/laptop", "/home/ada/shop", "codex"')
    period: Period = Field(description="A UTC day or a UTC month")
    limit_usd: float = Field(description="USD; above 0")


class BudgetStatus(BudgetIn):
    budget_id: str = Field(description="scope:period:target")
    source: Literal["api", "file"] = Field(description='"file": set in AGENTMON_BUDGETS')
    period_start: Timestamp
    period_end: Timestamp
    spent_usd: float = Field(description="USD of the priced calls so far this period")
    cost_source: CostSource | None
    unpriced_calls: int = Field(description="Calls no price is known for (not in spent_usd)")
    projected_usd: float = Field(description="spent_usd at this period's rate to its end")
    state: BudgetState = Field(description='"over": spent ≥ limit; "warning": projected ≥ limit')


class Budgets(Model):
    now: Timestamp
    budgets: list[BudgetStatus]


async def budget_status(store: Store, budget: Budget, now_ms: int) -> BudgetStatus:
    start, end = period_bounds(budget.period, now_ms)
    row = await spent(store, budget, start, end)
    total = float(row.get("cost_usd") or 0)
    # the rate so far, over at least an hour: a first call at 00:01 projects nothing wild
    elapsed = max(now_ms - start, HOUR_MS)
    projected = total * (end - start) / elapsed
    state: BudgetState = (
        "over"
        if total >= budget.limit_usd
        else "warning"
        if projected >= budget.limit_usd
        else "ok"
    )
    return BudgetStatus(
        budget_id=budget.budget_id,
        scope=budget.scope,  # type: ignore[arg-type]
        target=budget.target,
        period=budget.period,  # type: ignore[arg-type]
        limit_usd=budget.limit_usd,
        source=budget.source,  # type: ignore[arg-type]
        period_start=ms_to_ts(start),
        period_end=ms_to_ts(end),
        spent_usd=round(total, 6),
        cost_source=cost_fields(row)["cost_source"],
        unpriced_calls=int(row.get("unpriced_calls") or 0),
        projected_usd=round(min(projected, 1e12), 6),
        state=state,
    )


async def budget_statuses(store: Store, now_ms: int | None = None) -> list[BudgetStatus]:
    now_ms = now_ms or int(time.time() * 1000)
    budgets = await all_budgets(store)
    return list(await asyncio.gather(*(budget_status(store, b, now_ms) for b in budgets)))


def budgets_routes(store: Store) -> APIRouter:
    router = APIRouter(dependencies=[Depends(check_text_params)], tags=["budgets"])

    @router.get("/v1/budgets")
    async def list_budgets() -> Budgets:
        now_ms = int(time.time() * 1000)
        return Budgets(now=ms_to_ts(now_ms), budgets=await budget_statuses(store, now_ms))

    @router.put(
        "/v1/budgets",
        response_model=BudgetStatus,
        openapi_extra=needs(ADMIN),  # budgets decide which alerts fire for everyone
        responses={**_ERRORS, 409: {"model": ErrorResponse, "description": "Set in the file"}},
    )
    async def set_budget(budget: BudgetIn) -> BudgetStatus | JSONResponse:
        try:
            checked = budget_from(budget.model_dump(), "budget")
        except BudgetProblem as problem:
            raise BadParameter(str(problem)) from None
        if checked.budget_id in {b.budget_id for b in file_budgets()}:
            message = "this budget is set in the AGENTMON_BUDGETS file: change it there"
            return JSONResponse({"error": message}, status_code=409)
        await put_budget(store, checked)
        return await budget_status(store, checked, int(time.time() * 1000))

    @router.delete(
        "/v1/budgets",
        status_code=204,
        openapi_extra=needs(ADMIN),
        responses={**_ERRORS, 404: {"model": ErrorResponse, "description": "No such budget"}},
    )
    async def remove_budget(
        scope: Scope, target: Annotated[str, Query(min_length=1)], period: Period
    ) -> Response:
        budget_id = f"{scope}:{period}:{target}"
        if not await delete_budget(store, budget_id):
            raise NotFound(f"no budget {budget_id!r} set through the API")
        return Response(status_code=204)

    return router
