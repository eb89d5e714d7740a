"""The step every producer with a spool runs: replay the spool with the new events, set
aside what the gateway refuses, spool what it could not take, keep the spool bounded."""

from __future__ import annotations

from agentmon.client.delivery import DeliveryReport, Endpoint, RetryPolicy, deliver_events
from agentmon.client.spool import MAX_REPLAY_FILES, Spool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Event = dict[str, Any]


def deliver_or_spool(
    spool: Spool,
    endpoint: Endpoint,
    events: list[Event],
    policy: RetryPolicy,
    log: Callable[[str], None],
    replay_files: int = MAX_REPLAY_FILES,
) -> bool:
    """Send up to ``replay_files`` spooled batches, then ``events``; True if nothing is left.

    While the gateway is down, spooled files are put back untouched and only the new events
    are written, so a long outage costs each call one small file, not a rewrite of the spool.
    """
    claimed = spool.claim(replay_files)
    paths = [path for path, _ in claimed]
    pending = [event for _, batch in claimed for event in batch] + events
    if not pending:
        Spool.release(paths)
        return True
    report = deliver_events(endpoint, pending, policy)
    settle(spool, report, log)
    if not report.leftover:
        Spool.release(paths)
        return True
    log(f"{report.problem}; spooling")
    if len(report.leftover) == len(pending):
        for path in paths:
            spool.unclaim(path)
        if events:
            spool.write(events)
    else:
        spool.write(report.leftover)
        Spool.release(paths)
    trim(spool, log)
    return False


def settle(spool: Spool, report: DeliveryReport, log: Callable[[str], None]) -> None:
    """Log the gateway's per-item rejections; set refused events aside with their reason."""
    for reason in report.rejections:
        log(reason)
    for refused, reason in report.refused:
        spool.reject(refused, reason)
        log(f"{len(refused)} event(s) refused, set aside in {spool.rejected_dir}: {reason}")


def trim(spool: Spool, log: Callable[[str], None]) -> None:
    dropped = spool.trim()
    if dropped:
        log(
            f"spool over its bounds ({spool.max_files} batches, {spool.max_bytes} bytes,"
            f" {spool.max_age:.0f} s): dropped the {dropped} oldest batches"
        )
