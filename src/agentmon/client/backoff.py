"""When to try again: exponential backoff with full jitter, honouring ``Retry-After``.

Every producer that retries uses this schedule, so a fleet of hooks, SDKs and monitors that
all saw the same 503 does not come back in step: attempt ``n`` waits a uniformly random time
in ``[0, min(cap, base * 2**n))`` ("full jitter"), added to the server's ``Retry-After``
when it named one (the earliest it wants to hear from us again). Both parts are bounded.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_BASE = 0.5
DEFAULT_CAP = 30.0
RETRY_AFTER_CAP = 60.0


def urandom_fraction() -> float:
    """A uniform float in [0, 1) from ``os.urandom``: ``random`` costs a hook its import."""
    return int.from_bytes(os.urandom(7), "big") / (1 << 56)


class Backoff:
    """The retry schedule; ``uniform`` (a [0, 1) source) is injectable for seeded tests."""

    def __init__(
        self,
        base: float = DEFAULT_BASE,
        cap: float = DEFAULT_CAP,
        retry_after_cap: float = RETRY_AFTER_CAP,
        uniform: Callable[[], float] = urandom_fraction,
    ) -> None:
        self.base = base
        self.cap = cap
        self.retry_after_cap = retry_after_cap
        self.uniform = uniform

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 64))
        jitter: float = self.uniform() * ceiling
        if retry_after is None:
            return jitter
        return min(max(retry_after, 0.0), self.retry_after_cap) + jitter


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) → seconds, None if absent."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: only servers that send a date

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)
