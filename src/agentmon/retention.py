"""Retention: delete data older than AGENTMON_RETENTION_DAYS every AGENTMON_RETENTION_INTERVAL
(default hourly), on the writer side.

Only the writer (the embedded writer, or the event processors) prunes, keeping the rule that
only the processor writes the store. Every processor may run it; the deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agentmon.store import Store

log = logging.getLogger("agentmon.retention")


async def prune_once(store: Store, days: float) -> dict[str, int]:
    before_ms = int((time.time() - days * 86400) * 1000)
    deleted = await store.prune(before_ms)
    if any(deleted.values()):
        log.info("retention: deleted rows older than %g days: %s", days, deleted)
    return deleted


async def run_retention(store: Store, days: float, every_s: float) -> None:
    """Prune now and then every `every_s` until cancelled; a failed round is retried later."""
    while True:
        try:
            await prune_once(store, days)
        except Exception:
            log.exception("retention round failed; will retry")
        await asyncio.sleep(every_s)
