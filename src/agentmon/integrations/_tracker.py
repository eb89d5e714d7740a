"""Session → run → span bookkeeping shared by the hook mappings.

A `Tracker` wraps the persisted state of one session (a plain JSON-able dict) and emits the
envelopes a hook firing implies: it opens a synthetic session or run when a later hook
arrives first, closes a run left open when the next prompt comes, pairs span ends with their
starts (by the tool's own id, or first-in first-out by name when the tool gives no id) and
computes durations. It does no I/O, so the mappings built on it are pure functions.
"""

from __future__ import annotations

from agentmon.client.jsonio import json_dumps
from agentmon.integrations._hookio import (
    MalformedPayload,
    derived_id,
    make_event,
    new_event_id,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from agentmon.integrations._hookio import Event, Payload

MAX_FIELD_CHARS = 16_384
RECENT_RUNS_KEPT = 20
ENDED_EARLY_KEPT = 50


def clip(value: Any) -> Any:
    """Keep a prompt, tool input or output small enough for one event."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + "…[truncated]"
    text = json_dumps(value)
    if len(text) <= MAX_FIELD_CHARS:
        return value
    return text[:MAX_FIELD_CHARS] + "…[truncated]"


def _compact(payload: Payload) -> Payload:
    return {key: value for key, value in payload.items() if value is not None}


class Tracker:
    """Emits the envelopes of one hook firing for one session and updates its state."""

    def __init__(
        self,
        *,
        session_id: str,
        state: Payload,
        source: dict[str, str],
        now: float,
        attributes: Payload | None = None,
    ) -> None:
        self.session_id = session_id
        self.state = state
        self.source = source
        self.now = now
        self.attributes = attributes or {}
        self.events: list[Event] = []
        state.setdefault("spans", {})

    # ------------------------------------------------------------ primitives

    @property
    def run_id(self) -> str | None:
        run = self.state.get("run")
        return run["id"] if run else None

    def emit(
        self,
        event_type: str,
        payload: Payload,
        *,
        run_id: str | None = None,
        span_id: str | None = None,
        parent_span_id: str | None = None,
        ts: float | None = None,
        session_id: str | None = None,
        event_id: str | None = None,
    ) -> Event:
        """One envelope of this session (or of ``session_id``, for a session handed over)."""
        event = make_event(
            event_type,
            source=self.source,
            ts=self.now if ts is None else ts,
            correlation={
                "session_id": session_id or self.session_id,
                "run_id": run_id,
                "span_id": span_id,
                "parent_span_id": parent_span_id,
            },
            payload=_compact(payload),
            attributes=dict(self.attributes),
            event_id=event_id,
        )
        self.events.append(event)
        return event

    def span_id_for(self, key: str) -> str:
        return derived_id(self.source["framework"], self.session_id, "span", key)

    def event_id_for(self, *parts: str) -> str:
        """The id of an event that happens once per run or span: the same whoever emits it
        (a hook or ``agentmon import``), so the store keeps one."""
        return derived_id(self.source["framework"], self.session_id, "event", *parts)

    def _elapsed_ms(self, started: float | None) -> int | None:
        return None if started is None else max(round((self.now - started) * 1000), 0)

    # ------------------------------------------------------------ sessions

    def start_session(self, **payload: Any) -> None:
        if self.state.get("started") and not self.state.get("ended"):
            return
        self.emit("session.start", payload)
        self.state.update(started=True, ended=False, started_at=self.now)

    def ensure_session(self) -> None:
        if not self.state.get("started"):
            self.start_session(synthetic=True)

    def end_session(self, **payload: Any) -> None:
        self.ensure_session()
        if self.state.get("ended"):
            return
        self.close_open_spans(status="cancelled")
        if self.state.get("run"):
            self.end_run(status="unknown")
        payload.setdefault("duration_ms", self._elapsed_ms(self.state.get("started_at")))
        self.emit("session.end", payload)
        self.state.update(ended=True)

    # ------------------------------------------------------------ runs

    def start_run(self, run_id: str | None = None, **payload: Any) -> str:
        """Open a run; a run still open is closed first with status ``unknown``."""
        self.ensure_session()
        current = self.state.get("run")
        if current and run_id and current["id"] == run_id:
            return run_id
        if current:
            self.end_run(status="unknown")
        new_id = run_id or new_event_id()
        self.emit("run.start", payload, run_id=new_id, event_id=self.event_id_for(new_id, "start"))
        self.state["run"] = {"id": new_id, "started_at": self.now}
        return new_id

    def ensure_run(self, run_id: str | None = None) -> str:
        """The run a later hook belongs to, opening a synthetic one if none is open."""
        current = self.state.get("run")
        if current and (run_id is None or current["id"] == run_id):
            return str(current["id"])
        if run_id and run_id in self.state.get("recent_runs", []):
            return run_id
        return self.start_run(run_id, synthetic=True)

    def end_run(self, run_id: str | None = None, **payload: Any) -> None:
        """Close the open run (or ``run_id``); an end for a run already closed is dropped."""
        if run_id and run_id in self.state.get("recent_runs", []):
            return
        current = self.state.get("run")
        if not current or (run_id and current["id"] != run_id):
            self.ensure_run(run_id)
            current = self.state["run"]
        payload.setdefault("duration_ms", self._elapsed_ms(current.get("started_at")))
        self.emit(
            "run.end",
            payload,
            run_id=current["id"],
            event_id=self.event_id_for(current["id"], "end"),
        )
        recent = [*self.state.get("recent_runs", []), current["id"]][-RECENT_RUNS_KEPT:]
        self.state.update(run=None, recent_runs=recent)

    # ------------------------------------------------------------ spans

    def start_span(
        self,
        key: str,
        *,
        kind: str,
        name: str | None,
        parent_key: str | None = None,
        run_id: str | None = None,
        ts: float | None = None,
        once: bool = False,
        **payload: Any,
    ) -> str:
        """Open a span; a start arriving after its end (out of order) is reported, not opened.

        ``once``: the key names one span for good (a tool's own call id), so its events get
        derived ids and a second producer of the same span (``agentmon import``) adds none."""
        span_run = self.ensure_run(run_id)
        span_id = self.span_id_for(key)
        parent = self._parent_of(parent_key)
        ended_early = self.state.get("ended_early", [])
        if key in ended_early:
            ended_early.remove(key)
        else:
            self.state["spans"][key] = {
                "id": span_id,
                "run": span_run,
                "kind": kind,
                "name": name,
                "parent": parent,
                "started_at": self.now if ts is None else ts,
            }
        self.emit(
            "span.start",
            {"kind": kind, "name": name, **payload},
            run_id=span_run,
            span_id=span_id,
            parent_span_id=parent,
            ts=ts,
            event_id=self.event_id_for(span_id, "start") if once else None,
        )
        return span_id

    def end_span(
        self,
        key: str,
        *,
        kind: str,
        name: str | None,
        status: str = "ok",
        parent_key: str | None = None,
        run_id: str | None = None,
        ts: float | None = None,
        once: bool = False,
        **payload: Any,
    ) -> str:
        """Close a span; one never started is still reported (without a duration)."""
        if payload.get("duration_ms") is None:
            payload.pop("duration_ms", None)
        opened = self.state["spans"].pop(key, None)
        if opened is None:
            opened = {
                "id": self.span_id_for(key),
                "run": self.ensure_run(run_id),
                "parent": self._parent_of(parent_key),
                "name": name,
            }
            if "duration_ms" in payload:
                payload["reconstructed"] = True
            early = [*self.state.get("ended_early", []), key][-ENDED_EARLY_KEPT:]
            self.state["ended_early"] = early
        end = self.now if ts is None else ts
        if opened.get("started_at") is not None and "duration_ms" not in payload:
            payload["duration_ms"] = max(round((end - opened["started_at"]) * 1000), 0)
        self.emit(
            "span.end",
            {"kind": kind, "name": name or opened.get("name"), "status": status, **payload},
            run_id=opened["run"],
            span_id=opened["id"],
            parent_span_id=opened.get("parent"),
            ts=ts,
            event_id=self.event_id_for(opened["id"], "end") if once else None,
        )
        return str(opened["id"])

    def has_open_span(self, key: str) -> bool:
        return key in self.state["spans"]

    def close_open_spans(self, status: str) -> None:
        for key, opened in list(self.state["spans"].items()):
            self.end_span(
                key, kind=opened.get("kind", "tool"), name=opened.get("name"), status=status
            )

    def _parent_of(self, parent_key: str | None) -> str | None:
        if parent_key is None:
            return None
        opened = self.state["spans"].get(parent_key)
        return opened["id"] if opened else self.span_id_for(parent_key)

    def queue_push(self, name: str, key: str | None = None) -> str:
        """Queue a span key under ``name`` (a fresh one unless given) for pairing by order."""
        if key is None:
            sequence = self.state.get("sequence", 0) + 1
            self.state["sequence"] = sequence
            key = f"{name}#{sequence}"
        self.state.setdefault("queues", {}).setdefault(name, []).append(key)
        return key

    def queue_pop(self, name: str, key: str | None = None) -> str | None:
        """Take ``key`` (or else the oldest key) out of the queue ``name``; None if empty."""
        queue = self.state.setdefault("queues", {}).get(name) or []
        if key is not None:
            if key in queue:
                queue.remove(key)
        else:
            key = queue.pop(0) if queue else None
        if not queue:
            self.state["queues"].pop(name, None)
        return key

    # ------------------------------------------------------------ errors, usage, waiting

    def error(
        self,
        message: str,
        *,
        kind: str,
        span_id: str | None = None,
        run_id: str | None = None,
        event_id: str | None = None,
        **payload: Any,
    ) -> None:
        self.ensure_session()
        self.emit(
            "error",
            {"message": message, "kind": kind, **payload},
            run_id=run_id or self.run_id,
            span_id=span_id,
            event_id=event_id,
        )

    def usage(
        self,
        usage: dict[str, int],
        *,
        run_id: str | None = None,
        span_id: str | None = None,
        event_id: str | None = None,
        ts: float | None = None,
        **payload: Any,
    ) -> None:
        """A ``metric.snapshot`` carrying token usage: the only place usage is counted."""
        if not usage and payload.get("cost_usd") is None:
            return
        self.ensure_session()
        self.emit(
            "metric.snapshot",
            {"usage": usage, **payload},
            run_id=run_id or self.run_id,
            span_id=span_id,
            event_id=event_id,
            ts=ts,
        )

    def waiting(self, reason: str, message: str | None) -> None:
        """Mark the session as waiting for a human (cleared by its next event)."""
        self.ensure_session()
        self.emit(
            "metric.snapshot",
            {"agent_state": "waiting_for_human", "waiting_reason": reason, "message": message},
            run_id=self.run_id,
        )


def first_id(*candidates: object, what: str = "session_id") -> str:
    """The first non-empty string id among `candidates`; MalformedPayload when none."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return candidate
    raise MalformedPayload(f"no {what} in the hook input")


def run_mapping(
    handler: Callable[..., None] | None,
    payload: Payload,
    *handler_args: object,
    session_id: str,
    state: Payload,
    source: dict[str, str],
    now: float,
    attributes: dict[str, object],
) -> list[Event]:
    """Run one hook's handler on a Tracker for its session; unknown hooks map to nothing."""
    if handler is None:
        return []
    tracker = Tracker(
        session_id=session_id,
        state=state,
        source=source,
        now=now,
        attributes={key: value for key, value in attributes.items() if value},
    )
    handler(tracker, payload, *handler_args)
    return tracker.events
