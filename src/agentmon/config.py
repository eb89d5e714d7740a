"""Settings from the environment, under the original system's variable names.

A `.env` file in the working directory is read first; real environment variables win over
it, and command-line flags win over both (the CLI passes them to `Settings.load`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentmon"


def parse_duration(text: str) -> float:
    """'30s', '5m', '1h', '250ms' or a bare number of seconds → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h)")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def parse_addr(addr: str) -> tuple[str, int]:
    """':8080' → ('0.0.0.0', 8080); '127.0.0.1:9000' → ('127.0.0.1', 9000)."""
    host, _, port = addr.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"not a listen address: {addr!r} (use e.g. :8080 or 127.0.0.1:8080)")
    return (host.strip("[]") or "0.0.0.0", int(port))


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    nats_url: str | None = None
    nats_topic: str = "agentmon.events.v1"
    nats_stream: str = "AGENTMON_EVENTS"
    nats_consumer: str = "agentmon-processor"
    ingest_addr: str = ":8080"
    query_addr: str = ":8081"
    ui_addr: str = ":8082"
    otlp_addr: str = ":4318"
    query_base: str = "http://query-api:8081"
    ingest_url: str = "http://127.0.0.1:8080"
    data_dir: Path = field(default_factory=default_data_dir)
    openclaw_registry: Path = field(
        default_factory=lambda: Path.home() / ".claude" / "state" / "openclaw-instances.json"
    )
    poll_interval: float = 30.0
    session_idle_timeout: float = 1800.0
    api_key: str | None = None
    retention_days: float = 0.0
    retention_interval: float = 3600.0
    alert_webhook: str | None = None
    alert_cooldown: float = 600.0
    log_level: str = "info"
    log_format: str = "text"
    idle_timeout: float = 75.0
    header_timeout: float = 10.0
    max_connections: int = 0
    live_max_viewers: int = 1000
    allowed_origins: str = ""
    nats_max_age: float = 7 * 86400.0
    nats_max_bytes: int = 2 * 1024**3

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "agentmon.db"

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env_file: str = ".env") -> Settings:
        env: dict[str, str | None] = {**dotenv_values(env_file), **os.environ}
        values: dict[str, Any] = {}
        for name, key in _ENV_NAMES.items():
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            values[name] = _convert(name, raw)
        settings = cls(**values)
        if overrides:
            settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        return settings


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "nats_url": "NATS_URL",
    "nats_topic": "NATS_TOPIC",
    "nats_stream": "AGENTMON_NATS_STREAM",
    "nats_consumer": "AGENTMON_NATS_CONSUMER",
    "ingest_addr": "AGENTMON_ADDR",
    "query_addr": "AGENTMON_QUERY_ADDR",
    "ui_addr": "AGENTMON_UI_ADDR",
    "otlp_addr": "AGENTMON_OTLP_ADDR",
    "query_base": "AGENTMON_QUERY_BASE",
    "ingest_url": "AGENTMON_INGEST_URL",
    "data_dir": "AGENTMON_DATA_DIR",
    "openclaw_registry": "OPENCLAW_REGISTRY",
    "poll_interval": "POLL_INTERVAL",
    "session_idle_timeout": "AGENTMON_SESSION_IDLE_TIMEOUT",
    "api_key": "AGENTMON_API_KEY",
    "retention_days": "AGENTMON_RETENTION_DAYS",
    "retention_interval": "AGENTMON_RETENTION_INTERVAL",
    "alert_webhook": "AGENTMON_ALERT_WEBHOOK",
    "alert_cooldown": "AGENTMON_ALERT_COOLDOWN",
    "log_level": "AGENTMON_LOG_LEVEL",
    "log_format": "AGENTMON_LOG_FORMAT",
    "idle_timeout": "AGENTMON_IDLE_TIMEOUT",
    "header_timeout": "AGENTMON_HEADER_TIMEOUT",
    "max_connections": "AGENTMON_MAX_CONNECTIONS",
    "live_max_viewers": "AGENTMON_LIVE_MAX_VIEWERS",
    "allowed_origins": "AGENTMON_ALLOWED_ORIGINS",
    "nats_max_age": "AGENTMON_NATS_MAX_AGE",
    "nats_max_bytes": "AGENTMON_NATS_MAX_BYTES",
}
assert set(_ENV_NAMES) == {f.name for f in fields(Settings)}


def _convert(name: str, raw: str) -> Any:
    if name in (
        "poll_interval",
        "session_idle_timeout",
        "retention_interval",
        "alert_cooldown",
        "idle_timeout",
        "header_timeout",
        "nats_max_age",
    ):
        return parse_duration(raw)
    if name in ("max_connections", "live_max_viewers", "nats_max_bytes"):
        return int(raw)
    if name in ("data_dir", "openclaw_registry"):
        return Path(raw).expanduser()
    if name == "retention_days":
        days = float(raw)
        if days < 0:
            raise ValueError(f"AGENTMON_RETENTION_DAYS must be 0 (keep all) or more, not {raw}")
        return days
    return raw


ENV_TABLE = [(key, name) for name, key in _ENV_NAMES.items()]
