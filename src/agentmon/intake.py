"""Where accepted events go: the one seam between producers and the pipeline.

The ingest gateway, the OTLP receiver, the VM monitor and the demo all hand validated
envelopes to an `Intake`. `accept` returns only once the events are durable (the
JetStream publish ack in distributed mode, the SQLite commit in embedded mode), so a
caller may acknowledge its own client as soon as it returns.
"""

from __future__ import annotations

from typing import Protocol

from agentmon.events import Envelope


class IntakeUnavailable(Exception):
    """The bus or store cannot take events now; the caller should answer 503 and retry later."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Intake(Protocol):
    async def accept(self, events: list[Envelope]) -> None:
        """Make `events` durable or raise IntakeUnavailable."""
        ...

    async def health(self) -> dict[str, str]:
        """A short report such as {"bus": "ok"}; values other than "ok" say what is wrong."""
        ...
