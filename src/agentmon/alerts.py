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

VMs (docs/monitor.md): `watch` also reads each VM's latest snapshot and alerts when one goes
down (a state other than running, blocked or unknown), stops reporting (AGENTMON_LOST_AFTER),
or its disk or memory use reaches AGENTMON_VM_DISK_ALERT_PCT / AGENTMON_VM_MEMORY_ALERT_PCT;
claimed like the session alerts.

With a store, every alert is recorded in the alert history (store/alert_history.py) by the
processor that claimed it, with its delivery outcome; without a webhook alerts are still
raised and recorded (delivery `no_webhook`), so the Alerts page shows them.
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
import msgspec

from agentmon.events import Envelope, EventType, ms_to_ts, ts_to_ms
from agentmon.query.budgets import BudgetStatus, budget_statuses
from agentmon.query.models import Session
from agentmon.query.views import decode_json, session_view
from agentmon.store import Store, alert_history
from agentmon.store.attention import claim_alert as claim_attention_alert
from agentmon.store.budgets import Budget
from agentmon.store.budgets import claim_alert as claim_budget_alert
from agentmon.store.queries import VM_RUNNING_STATES, SessionFilters

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
    # waiting_for_human | run_failed | error | stuck | looping | lost | budget |
    # vm_down | vm_silent | vm_disk | vm_memory
    kind: str
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

    def subject(self) -> tuple[alert_history.SubjectType, str]:
        """What the alert is about, for the alert history."""
        return "session", self.session_id or ""


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


# raised from single events: claimed at delivery, so of several processors one sends each
EVENT_KINDS = frozenset({"waiting_for_human", "run_failed", "error"})


@dataclass(frozen=True)
class VmThresholds:
    disk_pct: float = 90.0
    memory_pct: float = 90.0
    silent_after_ms: int = 300_000


@dataclass(frozen=True)
class VmAlert(Alert):
    vm: str = ""

    def body(self) -> dict[str, Any]:
        return {**super().body(), "vm": self.vm}

    def subject(self) -> tuple[alert_history.SubjectType, str]:
        return "vm", self.vm


def vm_alerts(row: dict[str, Any], now_ms: int, limits: VmThresholds) -> list[VmAlert]:
    """The alerts a VM's latest snapshot (a vm_latest row) raises now."""
    name, reported = str(row["name"]), int(row["ts"] or 0)
    try:
        snapshot = decode_json(row["snapshot"])
    except msgspec.DecodeError:  # a broken snapshot says nothing; its age still counts
        snapshot = None
    snapshot = snapshot if isinstance(snapshot, dict) else {}

    def alert(kind: str, text: str) -> VmAlert:
        when = ms_to_ts(reported)
        return VmAlert(kind, f"VM {name} {text}", "openclaw", name, None, None, when, vm=name)

    silent_ms = now_ms - reported
    if silent_ms > limits.silent_after_ms:
        return [alert("vm_silent", f"stopped reporting {silent_ms // 60_000} min ago")]
    found = []
    state = str(snapshot.get("state") or "unknown")
    if state not in VM_RUNNING_STATES and state != "unknown":
        found.append(alert("vm_down", f"is {state}"))
    for kind, section, limit in (
        ("vm_disk", "disk", limits.disk_pct),
        ("vm_memory", "memory", limits.memory_pct),
    ):
        part = snapshot.get(section)
        used = part.get("pct") if isinstance(part, dict) else None
        if isinstance(used, int | float) and not isinstance(used, bool) and used >= limit:
            found.append(alert(kind, f"{section} is {used:.0f}% used (alert at {limit:g}%)"))
    return found


class AlertNotifier:
    def __init__(
        self,
        webhook: str | None,
        cooldown_s: float = 600.0,
        store: Store | None = None,
        vm_limits: VmThresholds | None = None,
    ) -> None:
        self.webhook = webhook
        self.cooldown_s = cooldown_s
        self.store = store
        self.vm_limits = vm_limits or VmThresholds()
        self._in_vm_state: set[tuple[str, str]] = set()
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
                await self.check_vms(store)
            except Exception as exc:  # the store may be starting or away: try again later
                log.warning("could not read stuck, looping or lost sessions or VMs: %s", exc)
            await asyncio.sleep(interval_s)

    async def check_vms(self, store: Store, now_ms: int | None = None) -> int:
        """Alert on VMs newly down, silent or over a threshold; how many alerts were queued."""
        now_ms = now_ms or int(time.time() * 1000)
        found = [
            a for row in await store.vm_instances() for a in vm_alerts(row, now_ms, self.vm_limits)
        ]
        current = {(a.kind, a.vm) for a in found}
        entered = [a for a in found if (a.kind, a.vm) not in self._in_vm_state]
        self._in_vm_state = current
        queued = 0
        for alert in entered:
            if await claim_attention_alert(
                store, alert.kind, alert.vm, int(self.cooldown_s * 1000)
            ):
                self.queue(alert)
                queued += 1
        return queued

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
        """Record and deliver queued alerts until cancelled."""
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                alert = await self._queue.get()
                if not await self._claimed(alert):
                    continue
                recorded = await self._record(alert)
                if self.webhook is None:
                    continue
                delivered = await self._post(client, self.webhook, alert)
                if recorded is not None:
                    await self._set_delivery(recorded, "delivered" if delivered else "failed")

    async def _claimed(self, alert: Alert) -> bool:
        """Whether this process sends an event's alert (the others were claimed when raised)."""
        if self.store is None or alert.kind not in EVENT_KINDS:
            return True
        cooldown_ms = int(self.cooldown_s * 1000)
        try:
            return await claim_attention_alert(
                self.store, alert.kind, alert.session_id or "", cooldown_ms
            )
        except Exception as exc:  # the store is away: better twice than never
            log.warning("could not claim the alert (%s): %s", exc, alert.text)
            return True

    async def _record(self, alert: Alert) -> int | None:
        if self.store is None:
            return None
        subject_type, subject = alert.subject()
        delivery: alert_history.Delivery = "pending" if self.webhook else "no_webhook"
        try:
            return await alert_history.record(
                self.store, alert.kind, subject_type, subject, alert.text, delivery
            )
        except Exception as exc:  # the store is away: the webhook still hears of it
            log.warning("could not record the alert (%s): %s", exc, alert.text)
            return None

    async def _set_delivery(self, alert_id: int, delivery: alert_history.Delivery) -> None:
        assert self.store is not None
        try:
            await alert_history.set_delivery(self.store, alert_id, delivery)
        except Exception as exc:
            log.warning("could not record alert %d's delivery: %s", alert_id, exc)

    @staticmethod
    async def _post(client: httpx.AsyncClient, webhook: str, alert: Alert) -> bool:
        try:
            response = await client.post(webhook, json=alert.body())
        except httpx.HTTPError as exc:
            log.warning("alert webhook unreachable (%s): %s", exc, alert.text)
            return False
        if response.status_code >= 400:
            log.warning("alert webhook answered %d: %s", response.status_code, alert.text)
            return False
        return True


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

    def subject(self) -> tuple[alert_history.SubjectType, str]:
        return "budget", str((self.budget or {}).get("budget_id", ""))


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
