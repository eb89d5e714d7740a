"""An in-memory Intake for the receiver's HTTP tests (end-to-end tests use the real server)."""

from __future__ import annotations

from agentmon.events import Envelope
from agentmon.intake import IntakeUnavailable

MAX_BODY_BYTES = 64 * 1024


class ListIntake:
    """An in-memory Intake: `accept` appends, or refuses while `unavailable` is set."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.unavailable: IntakeUnavailable | None = None

    async def accept(self, events: list[Envelope]) -> None:
        if self.unavailable is not None:
            raise self.unavailable
        self.events.extend(events)

    async def health(self) -> dict[str, str]:
        return {"intake": "ok" if self.unavailable is None else "unavailable"}
