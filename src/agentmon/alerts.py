"""Alerts to a webhook: an agent waiting for a human, a failed run, an error.

Set AGENTMON_ALERT_WEBHOOK to a URL (a Slack or Mattermost incoming webhook, or anything that
takes JSON). Each alert is one POST of `{"text": …, "kind": …, "session_id": …, …}`. Alerts
are raised from newly stored events only, so each fires once however often an event is
redelivered; the same kind for the same session is sent at most once per
AGENTMON_ALERT_COOLDOWN (default 10 min). Delivery runs beside the pipeline on a bounded
queue: a slow or dead webhook drops alerts (logged), never slows storing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from agentmon.events import Envelope, EventType

log = logging.getLogger("agentmon.alerts")

QUEUE_ALERTS = 1000


@dataclass(frozen=True)
class Alert:
    kind: str  # waiting_for_human | run_failed | error
    text: str
    event: Envelope

    def body(self) -> dict[str, Any]:
        source, correlation = self.event.event.source, self.event.correlation
        return {
            "text": self.text,
            "kind": self.kind,
            "framework": source.framework,
            "host": source.host,
            "session_id": correlation.session_id,
            "run_id": correlation.run_id,
            "ts": self.event.event.ts,
        }


def alert_for(event: Envelope) -> Alert | None:
    """The alert an event raises, if any."""
    payload, source = event.payload, event.event.source
    where = f"{source.framework} on {source.host or source.client_id or 'an unknown host'}"
    session = event.correlation.session_id or "no session"
    if payload.get("agent_state") == "waiting_for_human":
        reason = payload.get("waiting_reason") or "waiting"
        detail = f": {payload['message']}" if payload.get("message") else ""
        return Alert(
            "waiting_for_human",
            f"{where} is waiting for a human ({reason}){detail} [session {session}]",
            event,
        )
    kind = event.event.type
    if kind == EventType.RUN_END and str(payload.get("status", "")).lower() in ("error", "failed"):
        error = f": {payload['error']}" if payload.get("error") else ""
        return Alert("run_failed", f"{where}: a run failed{error} [session {session}]", event)
    if kind == EventType.ERROR:
        message = payload.get("message") or payload.get("error") or "error"
        return Alert("error", f"{where}: {message} [session {session}]", event)
    return None


class AlertNotifier:
    def __init__(self, webhook: str, cooldown_s: float = 600.0) -> None:
        self.webhook = webhook
        self.cooldown_s = cooldown_s
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=QUEUE_ALERTS)
        self._last_sent: dict[tuple[str, str], float] = {}

    def observe(self, events: list[Envelope]) -> None:
        """Queue the alerts newly stored events raise (never blocks)."""
        now = time.monotonic()
        for event in events:
            alert = alert_for(event)
            if alert is None:
                continue
            key = (alert.kind, event.correlation.session_id or "")
            if now - self._last_sent.get(key, -self.cooldown_s) < self.cooldown_s:
                continue
            self._last_sent[key] = now
            try:
                self._queue.put_nowait(alert)
            except asyncio.QueueFull:
                log.warning("alert queue full; dropped: %s", alert.text)
        self._forget_before(now - self.cooldown_s)

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
