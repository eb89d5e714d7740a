"""Structured logs: `key=value` text by default, one JSON object per line with
AGENTMON_LOG_FORMAT=json."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import msgspec

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


@dataclass
class _Burst:
    started: float
    passed: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Let through at most `burst` lines of one message template per `window_s`; the first
    line after that says how many were suppressed. A storm of identical errors (say, "Too
    many open files" thousands of times a second) then costs a few lines, not the disk."""

    def __init__(self, burst: int = 5, window_s: float = 10.0, max_keys: int = 1000) -> None:
        super().__init__()
        self.burst, self.window_s, self.max_keys = burst, window_s, max_keys
        self._bursts: dict[tuple[str, int, str], _Burst] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        current = self._bursts.get(key)
        if current is None or now - current.started >= self.window_s:
            if len(self._bursts) >= self.max_keys:
                self._forget_old(now)
            self._bursts[key] = _Burst(now, passed=1)
            if current is not None and current.suppressed:
                suppressed = current.suppressed
                record.msg = f"{record.getMessage()} ({suppressed} similar lines suppressed)"
                record.args = None
            return True
        if current.passed < self.burst:
            current.passed += 1
            return True
        current.suppressed += 1
        return False

    def _forget_old(self, now: float) -> None:
        for key, burst in list(self._bursts.items()):
            if now - burst.started >= self.window_s:
                del self._bursts[key]
        if len(self._bursts) >= self.max_keys:
            self._bursts.clear()


def configure(level: str = "info", fmt: str = "text") -> None:
    from agentmon.config import parse_setting

    level = parse_setting("log_level", level)  # a bad level is a SettingError, not a traceback
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        formatter = logging.Formatter(
            "ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s"
        )
        formatter.converter = __import__("time").gmtime
        handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "nats", "asyncssh", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
