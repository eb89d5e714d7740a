"""Alerts to a webhook: an agent waiting for a human, a failed run, an error, and a session
that became stuck, looping or lost.

Set AGENTMON_ALERT_WEBHOOK to a URL (a Slack or Mattermost incoming webhook, or anything that
takes JSON). Each alert is one POST of `{"text": …, "kind": …, "session_id": …, …}`. Alerts
are raised from newly stored events only, so each fires once however often an event is
redelivered; the same kind for the same session is sent at most once per
AGENTMON_ALERT_COOLDOWN (default 10 min). Delivery runs beside the pipeline on a bounded
queue: a slow or dead webhook drops alerts (logged), never slows storing.

Stuck, looping and lost are read-time statuses, not events: `watch` asks the store for them
every ATTENTION_POLL_S and alerts on a session when it enters one (again at most once per
cooldown, and again only after it left the status). Each such alert is claimed in the store
(`alert_claims`) first, so of several event processors watching one store only one sends it.

Budgets (docs/costs.md): `BudgetWatch` alerts once per budget and period when its spend
reaches its limit, claimed in the store so that only one of several processors sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from agentmon.events import Envelope, EventType, ts_to_ms
from agentmon.query.budgets import BudgetStatus, budget_statuses
from agentmon.query.models import Session
from agentmon.query.views import session_view
from agentmon.store import Store
from agentmon.store.attention import claim_alert as claim_attention_alert
from agentmon.store.budgets import Budget
from agentmon.store.budgets import claim_alert as claim_budget_alert
from agentmon.store.queries import SessionFilters

log = logging.getLogger("agentmon.alerts")


QUEUE_ALERTS = 1000
ATTENTION_POLL_S = 30.0
ATTENTION_STATUSES = ("stuck", "looping", "lost")
# sessions read per status and poll: past this, a fleet-wide incident is already loud
ATTENTION_PAGE = 200

_ATTENTION_TEXT = {
    "stuck": "has a run open with no event for a while",
    "looping": "repeats the same tool call",
    "lost": "runs on a VM that stopped reporting or is not running",
}


@dataclass(frozen=True)
class Alert:
    kind: str  # waiting_for_human | run_failed | error | stuck | looping | lost | budget
    text: str
    framework: str | None
    host: str | None
    session_id: str | None
    run_id: str | None
    ts: str | None

    def body(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "framework": self.framework,
            "host": self.host,
            "session_id": self.session_id,
            "run_id": self.run_id,
            "ts": self.ts,
        }


def _event_alert(kind: str, text: str, event: Envelope) -> Alert:
    source, correlation = event.event.source, event.correlation
    return Alert(
        kind,
        text,
        source.framework,
        source.host,
        correlation.session_id,
        correlation.run_id,
        event.event.ts,
    )


def attention_alert(status: str, session: Session) -> Alert:
    """The alert a session raises on becoming stuck, looping or lost."""
    where = f"{session.framework} on {session.host or session.client_id or 'an unknown host'}"
    task = f" ({session.title})" if session.title else ""
    return Alert(
        status,
        f"{where} {_ATTENTION_TEXT[status]}{task} [session {session.session_id}]",
        session.framework,
        session.host,
        session.session_id,
        None,
        session.last_event_at,
    )


def alert_for(event: Envelope) -> Alert | None:
    """The alert an event raises, if any."""
    payload, source = event.payload, event.event.source
    where = f"{source.framework} on {source.host or source.client_id or 'an unknown host'}"
    session = event.correlation.session_id or "no session"
    if payload.get("agent_state") == "waiting_for_human":
        reason = payload.get("waiting_reason") or "waiting"
        detail = f": {payload['message']}" if payload.get("message") else ""
        return _event_alert(
            "waiting_for_human",
            f"{where} is waiting for a human ({reason}){detail} [session {session}]",
            event,
        )
    kind = event.event.type
    if kind == EventType.RUN_END and str(payload.get("status", "")).lower() in ("error", "failed"):
        error = f": {payload['error']}" if payload.get("error") else ""
        return _event_alert(
            "run_failed", f"{where}: a run failed{error} [session {session}]", event
        )
    if kind == EventType.ERROR:
        message = payload.get("message") or payload.get("error") or "error"
        return _event_alert("error", f"{where}: {message} [session {session}]", event)
    return None


class AlertNotifier:
    def __init__(self, webhook: str, cooldown_s: float = 600.0) -> None:
        self.webhook = webhook
        self.cooldown_s = cooldown_s
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=QUEUE_ALERTS)
        self._last_sent: dict[tuple[str, str], float] = {}
        self._in_status: set[tuple[str, str]] = set()

    def observe(self, events: list[Envelope]) -> None:
        """Queue the alerts newly stored events raise (never blocks)."""
        now = time.monotonic()
        for event in events:
            alert = alert_for(event)
            if alert is not None:
                self._send(alert, now)
        self._forget_before(now - self.cooldown_s)

    def entered_statuses(self, sessions: dict[str, list[Session]]) -> list[tuple[str, Session]]:
        """The (status, session) pairs newly in one of the statuses (status → sessions)."""
        current = {(status, s.session_id) for status, found in sessions.items() for s in found}
        entered = [
            (status, session)
            for status, found in sessions.items()
            for session in found
            if (status, session.session_id) not in self._in_status
        ]
        self._in_status = current
        return entered

    async def watch(self, store: Store, interval_s: float = ATTENTION_POLL_S) -> None:
        """Alert on sessions becoming stuck, looping or lost, until cancelled. Every event
        processor watches; a claim in the store lets one of them send each alert."""
        while True:
            try:
                entered = self.entered_statuses(await _attention_sessions(store))
                cooldown_ms = int(self.cooldown_s * 1000)
                for status, session in entered:
                    if await claim_attention_alert(store, status, session.session_id, cooldown_ms):
                        self._send(attention_alert(status, session), time.monotonic())
            except Exception as exc:  # the store may be starting or away: try again later
                log.warning("could not read stuck, looping or lost sessions: %s", exc)
            await asyncio.sleep(interval_s)

    def queue(self, alert: Alert) -> None:
        """Queue an alert that needs no cooldown (its sender made sure it fires once)."""
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            log.warning("alert queue full; dropped: %s", alert.text)

    def _send(self, alert: Alert, now: float) -> None:
        key = (alert.kind, alert.session_id or "")
        if now - self._last_sent.get(key, -self.cooldown_s) < self.cooldown_s:
            return
        self._last_sent[key] = now
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            log.warning("alert queue full; dropped: %s", alert.text)

    def _forget_before(self, cutoff: float) -> None:
        if len(self._last_sent) > 10 * QUEUE_ALERTS:
            self._last_sent = {k: t for k, t in self._last_sent.items() if t >= cutoff}

    async def run(self) -> None:
        """Deliver queued alerts until cancelled."""
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                alert = await self._queue.get()
                try:
                    response = await client.post(self.webhook, json=alert.body())
                    if response.status_code >= 400:
                        log.warning(
                            "alert webhook answered %d: %s", response.status_code, alert.text
                        )
                except httpx.HTTPError as exc:
                    log.warning("alert webhook unreachable (%s): %s", exc, alert.text)


async def _attention_sessions(store: Store) -> dict[str, list[Session]]:
    found = {}
    for status in ATTENTION_STATUSES:
        page = await store.list_sessions(SessionFilters(status=status), limit=ATTENTION_PAGE)
        found[status] = [session_view(row) for row in page.rows]
    return found


# --- budgets -------------------------------------------------------------------------------

BUDGET_POLL_S = 60.0
# at most one look at the budgets per this many seconds, however many calls are stored
BUDGET_MIN_GAP_S = 1.0


@dataclass(frozen=True)
class BudgetAlert(Alert):
    budget: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return {**super().body(), "budget": self.budget}


def budget_alert(status: BudgetStatus) -> BudgetAlert:
    period = "today" if status.period == "day" else "this month"
    what = {"agent": "agent", "project": "project", "framework": "framework"}[status.scope]
    return BudgetAlert(
        "budget",
        f"Budget crossed: {what} {status.target} spent ${status.spent_usd:.2f} {period} "
        f"(budget ${status.limit_usd:.2f} per {status.period}, UTC)",
        status.target if status.scope == "framework" else None,
        None,
        None,
        None,
        status.period_start,
        budget=status.model_dump(),
    )


class BudgetWatch:
    """Alerts once per budget and period when its spend reaches its limit: after newly stored
    model calls (at most once a second) and every BUDGET_POLL_S. The store's budget_alerts
    row decides who sends, so several processors never alert twice."""

    def __init__(self, store: Store, queue: Callable[[Alert], None]) -> None:
        self.store = store
        self.queue = queue
        self._due = asyncio.Event()

    def observe(self, events: list[Envelope]) -> None:
        if any(e.event.type == EventType.METRIC_SNAPSHOT for e in events):
            self._due.set()

    async def check(self, now_ms: int | None = None) -> int:
        """Alert on the budgets crossed and not yet alerted on; how many were sent."""
        now_ms = now_ms or int(time.time() * 1000)
        sent = 0
        for status in await budget_statuses(self.store, now_ms):
            if status.state != "over":
                continue
            budget = Budget(status.scope, status.target, status.period, status.limit_usd)
            start = ts_to_ms(status.period_start)
            if await claim_budget_alert(self.store, budget, start, status.spent_usd, now_ms):
                self.queue(budget_alert(status))
                sent += 1
        return sent

    async def run(self, interval_s: float = BUDGET_POLL_S) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), interval_s)
            self._due.clear()
            try:
                await self.check()
            except Exception as exc:  # the store may be starting or away: try again later
                log.warning("could not check the budgets: %s", exc)
            await asyncio.sleep(BUDGET_MIN_GAP_S)
