"""What replaying any tool's history file has in common: a Tracker driven with the file's
own times, the imported session's start and end (ids derived once per session), compaction
spans keyed by the file's own line, and closing the last run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentmon.integrations._hookio import parse_ts
from agentmon.integrations._tracker import Tracker, clip


def parse_time(text: object) -> float | None:
    """``parse_ts`` at C speed for the importers, which load ``datetime`` anyway (the hooks
    do not): an RFC 3339 time stamp → epoch seconds; None when it is not a string, cannot
    be read or names no time zone."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return parse_ts(text)  # the forms only it reads (a lower-case ``z``)
    return parsed.timestamp() if parsed.tzinfo is not None else None


class HistoryReplay:
    def __init__(
        self,
        session_id: str,
        source: dict[str, str],
        first_ts: float,
        cwd: str | None,
        **start: Any,
    ) -> None:
        self.tracker = Tracker(
            session_id=session_id,
            state={},
            source=source,
            now=first_ts,
            attributes={"cwd": cwd} if cwd else {},
        )
        self.tracker.emit(
            "session.start",
            {"source": "import", "cwd": cwd, "imported": True, **start},
            event_id=self.tracker.event_id_for("session", "start"),
        )
        self.tracker.state.update(started=True, ended=False, started_at=first_ts)
        self.last_text: str | None = None
        self.run_error: str | None = None  # why the open run failed, when a replay knows

    def end_run(self) -> None:
        """End the open run with its last text, failed when `run_error` says so."""
        failed = self.run_error is not None
        self.tracker.end_run(
            status="error" if failed else "ok", output=clip(self.last_text), error=self.run_error
        )
        self.run_error = None

    def compaction(self, key: str, **details: Any) -> None:
        """A compaction, as a complete span in one event."""
        span_id = self.tracker.span_id_for(f"compaction:{key}")
        self.tracker.emit(
            "span.end",
            {"kind": "compaction", "name": "compaction", "status": "ok", **details},
            run_id=self.tracker.ensure_run(),
            span_id=span_id,
            event_id=self.tracker.event_id_for(span_id, "end"),
        )

    def close(self, *, ended: bool) -> None:
        """End the last run (and the session, when its file has gone quiet)."""
        if self.tracker.state.get("run"):
            self.end_run()
        if ended:
            self.tracker.close_open_spans(status="cancelled")
            self.tracker.emit(
                "session.end",
                {"reason": "imported"},
                event_id=self.tracker.event_id_for("session", "end"),
            )
