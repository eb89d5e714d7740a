"""The `tz` parameter: an IANA time zone naming where "today" starts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentmon.query.params import BadParameter

MAX_TZ_CHARS = 64


def zone(name: str | None) -> ZoneInfo | None:
    """The zone `name` names (None: UTC, the default); BadParameter for anything else."""
    if name is None or name == "UTC":
        return None
    if len(name) > MAX_TZ_CHARS or not name.isprintable() or ".." in name or name.startswith("/"):
        raise BadParameter(f"query parameter 'tz': {name[:MAX_TZ_CHARS]!r} is not a time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadParameter(
            f"query parameter 'tz': {name!r} is not an IANA time zone (e.g. Europe/Paris)"
        ) from None


def day_start_ms(now_ms: int, tz: ZoneInfo | None) -> int:
    """Epoch ms of the latest midnight in `tz` (UTC when None) at or before `now_ms`."""
    if tz is None:
        return now_ms // 86_400_000 * 86_400_000
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)
