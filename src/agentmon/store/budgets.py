"""Budgets: a daily or monthly USD limit per agent, project or framework, from the file
AGENTMON_BUDGETS names and/or set through the API (the `budgets` table); what each has spent
in its current period (UTC day or month), from `usage_hour`; and the claim that lets exactly
one process alert on a budget crossed in a period (`budget_alerts`).
"""

from __future__ import annotations

import json
import math
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentmon.store.base import Store
from agentmon.store.claims import claim
from agentmon.store.costs import HOUR_MS, SUMS
from agentmon.store.queries import Queries, Row

SCOPES = ("agent", "project", "framework")
PERIODS = ("day", "month")
MAX_TARGET_CHARS = 1024
MAX_LIMIT_USD = 1e9


class BudgetProblem(ValueError):
    """A budget that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Budget:
    scope: str  # agent (framework/client id or host), project (cwd) or framework
    target: str
    period: str  # day or month (UTC)
    limit_usd: float
    source: str = "api"  # api, or file (AGENTMON_BUDGETS: not changeable through the API)

    @property
    def budget_id(self) -> str:
        return f"{self.scope}:{self.period}:{self.target}"


def budget_from(data: Any, where: str, source: str = "api") -> Budget:
    """A checked budget from `{scope, target, period, limit_usd}`."""
    if not isinstance(data, dict):
        raise BudgetProblem(f"{where}: expected a table with scope, target, period, limit_usd")
    unknown = set(data) - {"scope", "target", "period", "limit_usd"}
    if unknown:
        raise BudgetProblem(f"{where}: unknown field {sorted(unknown)[0]!r}")
    scope, target, period, limit = (data.get(k) for k in ("scope", "target", "period", "limit_usd"))
    if scope not in SCOPES:
        raise BudgetProblem(f"{where}: 'scope' must be one of {', '.join(SCOPES)}")
    if period not in PERIODS:
        raise BudgetProblem(f"{where}: 'period' must be day or month")
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_CHARS:
        raise BudgetProblem(f"{where}: 'target' must be a text of 1 to 1024 characters")
    if "\x00" in target:
        raise BudgetProblem(f"{where}: 'target' contains a NUL character")
    if scope == "agent" and "/" not in target:
        raise BudgetProblem(f"{where}: an agent's 'target' reads framework/client (or host)")
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise BudgetProblem(f"{where}: 'limit_usd' must be a number")
    if not (0 < limit <= MAX_LIMIT_USD) or not math.isfinite(limit):
        raise BudgetProblem(f"{where}: 'limit_usd' must be above 0 and at most 1e9")
    return Budget(scope, target, period, float(limit), source)


def load_budget_file(path: Path) -> list[Budget]:
    """The budgets of a TOML (or, by its .json suffix, JSON) file: `[[budget]]` tables."""
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BudgetProblem(f"{path}: {exc}") from None
    entries = data.get("budget") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BudgetProblem(f"{path}: expected [[budget]] tables (see docs/costs.md)")
    budgets = [budget_from(e, f"{path}: budget {i + 1}", "file") for i, e in enumerate(entries)]
    ids = [b.budget_id for b in budgets]
    if len(set(ids)) != len(ids):
        raise BudgetProblem(f"{path}: the same scope, target and period twice")
    return budgets


_file_budgets: list[Budget] = []


def use_budget_file(path: Path | None) -> None:
    """Load (or, with None, forget) the budgets of AGENTMON_BUDGETS."""
    global _file_budgets
    _file_budgets = load_budget_file(path) if path is not None else []


def file_budgets() -> list[Budget]:
    return list(_file_budgets)


async def all_budgets(store: Queries) -> list[Budget]:
    """The file's budgets, then the API's (an API budget never shadows a file one)."""
    rows = await store.fetch(
        "SELECT scope, target, period, limit_usd FROM budgets ORDER BY budget_id", []
    )
    taken = {b.budget_id for b in _file_budgets}
    stored = [Budget(r["scope"], r["target"], r["period"], float(r["limit_usd"])) for r in rows]
    return [*_file_budgets, *(b for b in stored if b.budget_id not in taken)]


async def put_budget(store: Store, budget: Budget) -> None:
    await store.execute(
        "INSERT INTO budgets (budget_id, scope, target, period, limit_usd, updated_ms) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (budget_id) DO UPDATE SET "
        "limit_usd = excluded.limit_usd, updated_ms = excluded.updated_ms",
        [
            budget.budget_id,
            budget.scope,
            budget.target,
            budget.period,
            budget.limit_usd,
            int(time.time() * 1000),
        ],
    )


async def delete_budget(store: Store, budget_id: str) -> bool:
    return bool(await store.execute("DELETE FROM budgets WHERE budget_id = ?", [budget_id]))


def period_bounds(period: str, now_ms: int) -> tuple[int, int]:
    """The UTC day or month `now_ms` falls in, as [start, end) epoch ms."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return _ms(start), _ms(start) + 86_400_000
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return _ms(start), _ms(following)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _scope_filter(budget: Budget) -> tuple[str, list[Any]]:
    if budget.scope == "framework":
        return "u.framework = ?", [budget.target]
    if budget.scope == "project":
        return "s.cwd = ?", [budget.target]
    framework, agent = budget.target.split("/", 1)
    return "u.framework = ? AND coalesce(s.client_id, s.host, '') = ?", [framework, agent]


async def spent(store: Queries, budget: Budget, start_ms: int, end_ms: int) -> Row:
    """The sums of the budget's calls in [start, end)."""
    where, params = _scope_filter(budget)
    rows = await store.fetch(
        f"SELECT {SUMS} FROM usage_hour u LEFT JOIN sessions s ON s.session_id = u.session_id "
        f"WHERE u.bucket >= ? AND u.bucket < ? AND {where}",
        [start_ms // HOUR_MS * HOUR_MS, end_ms, *params],
    )
    return rows[0] if rows else {}


async def claim_alert(
    store: Store, budget: Budget, period_start: int, spent_usd: float, now_ms: int
) -> bool:
    """True for the one caller that records the budget's crossing in this period first."""
    return await claim(
        store,
        "budget_alerts",
        {"budget_id": budget.budget_id, "period_start": period_start},
        {"fired_ms": now_ms, "spent_usd": spent_usd, "limit_usd": budget.limit_usd},
    )
