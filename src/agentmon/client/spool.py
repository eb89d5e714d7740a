"""Undelivered events on disk, bounded, replayed in order, never stuck behind one batch.

A spool is a directory of JSON files, each an array of envelopes waiting for delivery,
named by creation time (nanoseconds) so they replay oldest first. A process claims a file
by renaming it (atomic), so two producers never replay the same file; a claim left by a
crashed process is taken over after a minute.

Bounds, so that an outage that never ends cannot fill the disk: beyond ``max_files``
waiting batches, ``max_bytes`` of them, or batches older than ``max_age`` seconds, the
oldest are dropped (the caller logs the count). Events the gateway refuses for good (a 4xx
such as 400 or 413) are set aside in ``rejected/`` with the reason, itself bounded, so
replay carries on behind them.

``deliver_or_spool`` is the step every producer with a spool runs: replay the spool with the
new events, set aside what the gateway refuses, spool what it could not take, keep the spool
bounded. (It lives here rather than in a module of its own because every module a hook
loads costs it start-up time.)
"""

from __future__ import annotations

import os
import time

from agentmon.client.config import (
    SPOOL_MAX_AGE_SECONDS,
    SPOOL_MAX_BYTES,
    SPOOL_MAX_FILES,
    ClientConfig,
)
from agentmon.client.delivery import DeliveryReport, Endpoint, RetryPolicy, deliver_events
from agentmon.client.jsonio import json_dumps, json_loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Event = dict[str, Any]

MAX_REPLAY_FILES = 50
STALE_CLAIM_SECONDS = 60.0
REJECTED_MAX_FILES = 1000
REJECTED_DIR = "rejected"
_STAMP_DIGITS = 20


class Spool:
    def __init__(
        self,
        directory: str,
        max_files: int = SPOOL_MAX_FILES,
        max_bytes: int = SPOOL_MAX_BYTES,
        max_age: float = SPOOL_MAX_AGE_SECONDS,
    ) -> None:
        self.directory = directory
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.rejected_dir = os.path.join(directory, REJECTED_DIR)

    @classmethod
    def configured(cls, config: ClientConfig, directory: str | None = None) -> Spool:
        """The spool ``config`` describes, in ``directory`` if given."""
        return cls(
            directory or config.spool_dir,
            config.spool_max_files,
            config.spool_max_bytes,
            config.spool_max_age,
        )

    # ------------------------------------------------------------ writing

    def write(self, events: list[Event]) -> str:
        """Add one batch; its path."""
        return _write_new(self.directory, json_dumps(events))

    def reject(self, events: list[Event], reason: str) -> str:
        """Set refused events aside with the reason; the oldest beyond the bound go."""
        path = _write_new(self.rejected_dir, json_dumps({"reason": reason, "events": events}))
        excess = _waiting(self.rejected_dir)[:-REJECTED_MAX_FILES]
        _remove(self.rejected_dir, excess)
        return path

    # ------------------------------------------------------------ bounds

    def trim(self) -> int:
        """Drop the oldest waiting batches beyond the file, byte and age bounds; how many."""
        names = _waiting(self.directory)
        too_old = time.time_ns() - int(self.max_age * 1e9)
        drop = sum(1 for name in names if _stamp(name) < too_old)
        drop = max(drop, len(names) - self.max_files)
        drop += self._over_bytes(names[drop:])
        _remove(self.directory, names[:drop])
        return drop

    def _over_bytes(self, names: list[str]) -> int:
        """How many of the oldest ``names`` must go to bring the rest under ``max_bytes``."""
        sizes = []
        for name in names:
            try:
                sizes.append(os.stat(os.path.join(self.directory, name)).st_size)
            except OSError:  # claimed or removed by another process meanwhile
                sizes.append(0)
        total = sum(sizes)
        drop = 0
        while total > self.max_bytes and drop < len(sizes):
            total -= sizes[drop]
            drop += 1
        return drop

    # ------------------------------------------------------------ replay

    def claim(self, max_files: int = MAX_REPLAY_FILES) -> list[tuple[str, list[Event]]]:
        """Take up to ``max_files`` spooled batches, oldest first: (claimed path, events)."""
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return []
        claimed: list[tuple[str, list[Event]]] = []
        for name in names:
            if len(claimed) >= max_files:
                break
            path = self._claim_one(name)
            if path is not None:
                claimed.append((path, _load(path)))
        return claimed

    def _claim_one(self, name: str) -> str | None:
        path = os.path.join(self.directory, name)
        if name.endswith(".claimed"):
            try:
                if time.time() - os.stat(path).st_mtime < STALE_CLAIM_SECONDS:
                    return None
            except OSError:
                return None
            name = name.split(".json.", 1)[0] + ".json"
        elif not name.endswith(".json") or name.startswith("."):
            return None
        target = os.path.join(self.directory, f"{name}.{os.getpid()}.claimed")
        try:
            os.rename(path, target)
            os.utime(target)
        except OSError:
            return None
        return target

    @staticmethod
    def unclaim(path: str) -> None:
        """Put a claimed batch back, under its original name, for a later replay."""
        original = path.split(".json.", 1)[0] + ".json"
        try:  # noqa: SIM105 (contextlib would cost the hook its import time)
            os.rename(path, original)
        except OSError:
            pass

    @staticmethod
    def release(paths: list[str]) -> None:
        for path in paths:
            try:  # noqa: SIM105
                os.unlink(path)
            except OSError:
                pass

    def count(self) -> int:
        return len(_waiting(self.directory))

    def has_batches(self) -> bool:
        """Whether any batch is waiting or claimed (a claim may be stale and due a retry)."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return False
        return any(name[0] != "." and name.endswith((".json", ".claimed")) for name in names)

    def rejected(self) -> list[tuple[str, list[Event]]]:
        """What was set aside, oldest first: (reason, events)."""
        found = []
        for name in _waiting(self.rejected_dir):
            loaded = _read_json(os.path.join(self.rejected_dir, name))
            if isinstance(loaded, dict):
                found.append((str(loaded.get("reason")), _events(loaded.get("events"))))
        return found


def _write_new(directory: str, text: str) -> str:
    """A new file named by creation time, written under a hidden name and renamed in."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = f"{time.time_ns():0{_STAMP_DIGITS}d}-{os.getpid()}-{os.urandom(4).hex()}.json"
    temporary = os.path.join(directory, "." + name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    path = os.path.join(directory, name)
    os.replace(temporary, path)
    return path


def _waiting(directory: str) -> list[str]:
    """Names of the unclaimed batches in ``directory``, oldest first."""
    try:
        return sorted(n for n in os.listdir(directory) if n.endswith(".json") and n[0] != ".")
    except OSError:
        return []


def _stamp(name: str) -> int:
    digits = name[:_STAMP_DIGITS]
    return int(digits) if digits.isdigit() else 0


def _remove(directory: str, names: list[str]) -> None:
    for name in names:
        try:  # noqa: SIM105
            os.remove(os.path.join(directory, name))
        except OSError:  # claimed or removed by another process meanwhile
            pass


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json_loads(handle.read())
    except (OSError, ValueError):
        return None


def _load(path: str) -> list[Event]:
    return _events(_read_json(path))


def _events(loaded: object) -> list[Event]:
    return [item for item in loaded if isinstance(item, dict)] if isinstance(loaded, list) else []


# ---------------------------------------------------------------- replay with delivery


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
