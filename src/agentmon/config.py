"""Settings from the environment, under the original system's variable names.

A `.env` file in the working directory is read first; real environment variables win over
it, and command-line flags win over both (the CLI passes them to `Settings.load`).

Each setting is one line in `Settings`: its environment variable, its kind (how its text is
read and what a good value looks like) and what it means. A bad value is reported as one
line naming the variable, the value and what was expected (`SettingError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")


class SettingError(ValueError):
    """A setting's value is not what it must be; the message is one line for the user."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentmon"


def default_registry() -> Path:
    return Path.home() / ".claude" / "state" / "openclaw-instances.json"


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
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"not a listen address: {addr!r} (use e.g. :8080 or 127.0.0.1:8080)")
    return (host.strip("[]") or "0.0.0.0", int(port))


# ---------------------------------------------------------------------------------------
# Kinds of value


@dataclass(frozen=True)
class Kind:
    """How a setting's text becomes its value, and what a good one looks like."""

    parse: Callable[[str], Any]
    expected: str
    empty_means: str | None = None  # what an explicitly empty value stands for, if allowed
    show: Callable[[Any], str] = str


def format_duration(seconds: float) -> str:
    """3600.0 → '1h', 90.0 → '90s', 0.25 → '250ms': the way the settings are written."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s" if seconds >= 1 or seconds == 0 else f"{seconds * 1000:g}ms"


def _checked(test: Callable[[str], bool]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not test(raw):
            raise ValueError(raw)
        return raw

    return parse


def _url_with(schemes: tuple[str, ...]) -> Callable[[str], bool]:
    def test(raw: str) -> bool:
        parts = urlsplit(raw)
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            return False
        return parts.scheme in schemes and bool(parts.hostname)

    return test


def _nats_urls(raw: str) -> bool:
    return all(_url_with(("nats", "tls", "ws", "wss"))(url.strip()) for url in raw.split(","))


def _address(raw: str) -> str:
    parse_addr(raw)
    return raw


def _duration(minimum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        seconds = parse_duration(raw)
        if seconds < minimum or (minimum > 0 and seconds == 0):
            raise ValueError(raw)
        return seconds

    return parse


def _days(raw: str) -> float:
    days = float(raw)
    if not days >= 0 or days == float("inf"):
        raise ValueError(raw)
    return days


def _path(must_be_dir: bool) -> Callable[[str], Path]:
    def parse(raw: str) -> Path:
        if "\0" in raw:
            raise ValueError(raw)
        path = Path(raw).expanduser()
        if path.exists() and path.is_dir() != must_be_dir:
            raise ValueError(raw)
        return path

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in choices:
            raise ValueError(raw)
        return raw.lower()

    return parse


TEXT = Kind(_checked(lambda raw: raw.strip() != ""), "any text")
NAME = Kind(
    _checked(lambda raw: re.fullmatch(r"[A-Za-z0-9_-]+", raw) is not None),
    "a JetStream name (expected letters, digits, - and _, e.g. AGENTMON_EVENTS)",
)
SUBJECT = Kind(
    _checked(lambda raw: re.fullmatch(r"[^\s.*>]+(\.[^\s.*>]+)*", raw) is not None),
    "a NATS subject (expected dot-separated words, e.g. agentmon.events.v1)",
)
ADDRESS = Kind(_address, "a listen address (expected e.g. :8080 or 127.0.0.1:8080)")
OPTIONAL_ADDRESS = Kind(
    _address, "a listen address (expected e.g. :4318, or '' to disable)", empty_means="disabled"
)
HTTP_URL = Kind(
    _checked(_url_with(("http", "https"))), "an http(s) URL (expected e.g. http://127.0.0.1:8080)"
)
POSTGRES_URL = Kind(
    _checked(_url_with(("postgres", "postgresql"))),
    "a PostgreSQL URL (expected e.g. postgresql://user:password@127.0.0.1:5432/agentmon)",
)
NATS_URLS = Kind(
    _checked(_nats_urls), "a NATS URL (expected e.g. nats://127.0.0.1:4222, comma-separated)"
)
INTERVAL = Kind(
    _duration(minimum=0.001),
    "a duration above zero (expected e.g. 30s, 5m, 1h)",
    show=format_duration,
)
DURATION = Kind(
    _duration(minimum=0), "a duration (expected e.g. 0, 30s, 10m)", show=format_duration
)
DAYS = Kind(
    _days, "a number of days (expected e.g. 30, or 0 to keep everything)", show="{:g}".format
)
DIRECTORY = Kind(_path(must_be_dir=True), "a directory (expected e.g. ~/.local/share/agentmon)")
FILE = Kind(_path(must_be_dir=False), "a file path (expected e.g. ~/instances.json)")


def _price_file(raw: str) -> Path:
    from agentmon.pricing import load_price_file

    path = _path(must_be_dir=False)(raw)
    load_price_file(path)  # its own error says what is wrong; the setting's says where
    return path


PRICE_FILE = Kind(_price_file, "a readable price file (TOML or JSON as docs/costs.md shows)")


def _budget_file(raw: str) -> Path:
    from agentmon.store.budgets import load_budget_file

    path = _path(must_be_dir=False)(raw)
    load_budget_file(path)  # its own error says what is wrong; the setting's says where
    return path


BUDGET_FILE = Kind(_budget_file, "a readable budget file (TOML or JSON as docs/costs.md shows)")


SWITCHES = {"1": True, "true": True, "yes": True, "on": True}
SWITCHES |= {"0": False, "false": False, "no": False, "off": False}


def _switch(raw: str) -> bool:
    if raw.strip().lower() not in SWITCHES:
        raise ValueError(raw)
    return SWITCHES[raw.strip().lower()]


def _count(raw: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError(raw)
    return int(raw)


COUNT = Kind(_count, "a whole number (expected e.g. 1000, or 0 for no limit)")


def _percent(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 100:
        raise ValueError(raw)
    return value


PERCENT = Kind(
    _percent, "a percentage above 0 (expected e.g. 90, at most 100)", show="{:g}%".format
)


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.strip().isdigit() or not low <= int(raw) <= high:
            raise ValueError(raw)
        return int(raw)

    return parse


PULL_SIZE = Kind(_whole_number(1, 10_000), "a number of messages (expected 1 to 10000, e.g. 64)")
REQUESTS = Kind(
    _whole_number(1, 1_000_000), "a number of requests (expected 1 to 1000000, e.g. 64)"
)
REPLICAS = Kind(
    lambda raw: int(_choice(("1", "2", "3", "4", "5"))(raw.strip())),
    "a number of stream copies (expected 1 to 5, e.g. 3 on a three-server cluster)",
)
ORIGINS = Kind(
    _checked(lambda raw: all(_url_with(("http", "https"))(o.strip()) for o in raw.split(","))),
    "origins (expected e.g. https://agentmon.example.com, comma-separated)",
    empty_means="same origin only",
)
LOG_LEVEL = Kind(_choice(LOG_LEVELS), f"a log level (expected one of {', '.join(LOG_LEVELS)})")
PARTITION_PERIOD = Kind(_choice(("day", "week")), "a partition period (expected day or week)")
LOG_FORMAT = Kind(_choice(LOG_FORMATS), f"a log format (expected one of {', '.join(LOG_FORMATS)})")
SWITCH = Kind(_switch, "on or off (expected 1 or 0)", show=lambda on: "on" if on else "off")


def _networks(raw: str) -> bool:
    import ipaddress

    try:
        return all(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(","))
    except ValueError:
        return False


NETWORKS = Kind(
    _checked(_networks),
    "addresses or networks (expected e.g. 127.0.0.1/32,10.0.0.0/8, comma-separated)",
    empty_means="none",
)
HEADER_NAME = Kind(
    _checked(lambda raw: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", raw) is not None),
    "an HTTP header name (expected e.g. X-Forwarded-User)",
    empty_means="off",
)
ROLE_OR_NONE = Kind(_choice(("viewer", "admin", "none")), "viewer, admin or none")


# ---------------------------------------------------------------------------------------
# How secrets are shown


def mask_secret(value: str) -> str:
    """Enough to tell two keys apart, never the key."""
    return f"****{value[-4:]}" if len(value) >= 16 else "****"


def mask_password(urls: str) -> str:
    """The password of a URL (or of each in a comma-separated list) as ****."""
    return ",".join(_without_password(url) for url in urls.split(","))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def mask_path(url: str) -> str:
    """Webhook URLs carry their secret in the path (Slack, Discord): show only the host."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/****" if parts.path else "", "", ""))


def setting(
    env: str,
    kind: Kind,
    default: Any,
    meaning: str,
    mask: Callable[[str], str] | None = None,
) -> Any:
    """One setting: `name: type = setting("ENV_NAME", KIND, default, "what it means")`.

    A callable default is evaluated per load (paths under the home directory)."""
    metadata = {"env": env, "kind": kind, "meaning": meaning, "mask": mask}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    database_url: str | None = setting(
        "DATABASE_URL", POSTGRES_URL, None, "PostgreSQL (distributed mode)", mask_password
    )
    nats_url: str | None = setting(
        "NATS_URL", NATS_URLS, None, "NATS server (distributed mode)", mask_password
    )
    nats_topic: str = setting(
        "NATS_TOPIC", SUBJECT, "agentmon.events.v1", "subject events are published on"
    )
    nats_stream: str = setting("AGENTMON_NATS_STREAM", NAME, "AGENTMON_EVENTS", "JetStream stream")
    nats_consumer: str = setting(
        "AGENTMON_NATS_CONSUMER", NAME, "agentmon-processor", "durable consumer of the processors"
    )
    ingest_addr: str = setting("AGENTMON_ADDR", ADDRESS, ":8080", "ingest gateway listen address")
    query_addr: str = setting("AGENTMON_QUERY_ADDR", ADDRESS, ":8081", "query API listen address")
    ui_addr: str = setting("AGENTMON_UI_ADDR", ADDRESS, ":8082", "web UI listen address")
    otlp_addr: str = setting(
        "AGENTMON_OTLP_ADDR", OPTIONAL_ADDRESS, ":4318", "OTLP/HTTP listen address ('' disables)"
    )
    otlp_grpc_addr: str = setting(
        "AGENTMON_OTLP_GRPC_ADDR", OPTIONAL_ADDRESS, "", "OTLP/gRPC listen address, e.g. :4317"
    )
    query_base: str = setting(
        "AGENTMON_QUERY_BASE", HTTP_URL, "http://query-api:8081", "query API URL for the web UI"
    )
    ingest_url: str = setting(
        "AGENTMON_INGEST_URL", HTTP_URL, "http://127.0.0.1:8080", "ingest gateway producers use"
    )
    # `setting` returns a dataclasses.field with a default_factory, which ruff cannot see.
    data_dir: Path = setting(  # noqa: RUF009
        "AGENTMON_DATA_DIR", DIRECTORY, default_data_dir, "embedded mode's SQLite database"
    )
    openclaw_registry: Path = setting(  # noqa: RUF009
        "OPENCLAW_REGISTRY", FILE, default_registry, "OpenClaw VM instance registry"
    )
    poll_interval: float = setting("POLL_INTERVAL", INTERVAL, 30.0, "VM polling interval")
    session_idle_timeout: float = setting(
        "AGENTMON_SESSION_IDLE_TIMEOUT", INTERVAL, 1800.0, "a quiet session shows idle after"
    )
    api_key: str | None = setting(
        "AGENTMON_API_KEY", TEXT, None, "bearer key ingest and OTLP require", mask_secret
    )
    retention_days: float = setting(
        "AGENTMON_RETENTION_DAYS", DAYS, 0.0, "delete data older than this (0 keeps all)"
    )
    retention_interval: float = setting(
        "AGENTMON_RETENTION_INTERVAL", INTERVAL, 3600.0, "how often retention runs"
    )
    partition_period: str = setting(
        "AGENTMON_PARTITION_PERIOD", PARTITION_PERIOD, "day", "PostgreSQL events partition size"
    )
    pg_statement_cache_size: int = setting(
        "AGENTMON_PG_STATEMENT_CACHE_SIZE",
        COUNT,
        100,
        "prepared statements kept per PostgreSQL connection (0 behind PgBouncer)",
    )
    alert_webhook: str | None = setting(
        "AGENTMON_ALERT_WEBHOOK", HTTP_URL, None, "where alerts are posted", mask_path
    )
    alert_cooldown: float = setting(
        "AGENTMON_ALERT_COOLDOWN", DURATION, 600.0, "at most one alert per session and kind"
    )
    log_level: str = setting("AGENTMON_LOG_LEVEL", LOG_LEVEL, "info", "log level")
    log_format: str = setting("AGENTMON_LOG_FORMAT", LOG_FORMAT, "text", "log line format")
    idle_timeout: float = setting(
        "AGENTMON_IDLE_TIMEOUT", INTERVAL, 75.0, "an idle kept-alive connection is closed after"
    )
    header_timeout: float = setting(
        "AGENTMON_HEADER_TIMEOUT", INTERVAL, 10.0, "a request's headers must arrive within"
    )
    max_connections: int = setting(
        "AGENTMON_MAX_CONNECTIONS", COUNT, 0, "open connections per port (0: below the fd limit)"
    )
    ingest_max_in_flight: int = setting(
        "AGENTMON_INGEST_MAX_IN_FLIGHT",
        REQUESTS,
        64,
        "ingest requests handled at once per process; beyond: 503 + Retry-After",
    )
    ingest_max_lag: float = setting(
        "AGENTMON_INGEST_MAX_LAG",
        INTERVAL,
        1.0,
        "event loop lateness past which ingest answers 503 + Retry-After",
    )
    live_max_viewers: int = setting(
        "AGENTMON_LIVE_MAX_VIEWERS", COUNT, 1000, "live feed WebSocket viewers at most"
    )
    allowed_origins: str = setting(
        "AGENTMON_ALLOWED_ORIGINS", ORIGINS, "", "other origins allowed to open WebSockets"
    )
    nats_max_age: float = setting(
        "AGENTMON_NATS_MAX_AGE", INTERVAL, 7 * 86400.0, "JetStream keeps events at most this long"
    )
    nats_max_bytes: int = setting(
        "AGENTMON_NATS_MAX_BYTES", COUNT, 2 * 1024**3, "JetStream stream size limit in bytes"
    )
    processor_fetch: int = setting(
        "AGENTMON_PROCESSOR_FETCH", PULL_SIZE, 64, "JetStream messages a processor pulls at once"
    )
    nats_ack_wait: float = setting(
        "AGENTMON_NATS_ACK_WAIT", INTERVAL, 30.0, "an unacked message is redelivered after"
    )
    nats_replicas: int = setting(
        "AGENTMON_NATS_REPLICAS", REPLICAS, 1, "copies of the stream JetStream keeps, on create"
    )
    prices_file: Path | None = setting(  # noqa: RUF009
        "AGENTMON_PRICES", PRICE_FILE, None, "your own model prices, USD per million tokens"
    )
    budgets_file: Path | None = setting(  # noqa: RUF009
        "AGENTMON_BUDGETS", BUDGET_FILE, None, "daily and monthly USD budgets to alert on"
    )
    insecure: bool = setting("AGENTMON_INSECURE", SWITCH, False, "serve reads to anyone, no key")
    metrics_open: bool = setting("AGENTMON_METRICS_OPEN", SWITCH, False, "/metrics needs no key")
    trusted_proxies: str = setting(
        "AGENTMON_TRUSTED_PROXIES",
        NETWORKS,
        "",
        "proxies whose X-Forwarded-For and user header count",
    )
    trusted_user_header: str = setting(
        "AGENTMON_TRUSTED_USER_HEADER", HEADER_NAME, "", "header a trusted proxy names the user in"
    )
    trusted_user_role: str = setting(
        "AGENTMON_TRUSTED_USER_ROLE", ROLE_OR_NONE, "viewer", "role of a proxy's user not in users"
    )
    redact: bool = setting("AGENTMON_REDACT", SWITCH, True, "redact secrets at ingest")
    redact_patterns: Path | None = setting(  # noqa: RUF009
        "AGENTMON_REDACT_PATTERNS", FILE, None, "file of extra `kind = regex` secret patterns"
    )
    stuck_after: float = setting(
        "AGENTMON_STUCK_AFTER", INTERVAL, 600.0, "a run open this long without an event is stuck"
    )
    loop_repeats: int = setting(
        "AGENTMON_LOOP_REPEATS",
        COUNT,
        5,
        "identical tool calls in a row that are a loop (0: off)",
    )
    lost_after: float = setting(
        "AGENTMON_LOST_AFTER", INTERVAL, 300.0, "VM silence after which its agents are lost"
    )
    vm_disk_alert_pct: float = setting(
        "AGENTMON_VM_DISK_ALERT_PCT", PERCENT, 90.0, "a VM's disk use that raises an alert"
    )
    vm_memory_alert_pct: float = setting(
        "AGENTMON_VM_MEMORY_ALERT_PCT", PERCENT, 90.0, "a VM's memory use that raises an alert"
    )
    search_max_chars: int = setting(
        "AGENTMON_SEARCH_MAX_CHARS", COUNT, 8192, "characters indexed per field for search"
    )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "agentmon.db"

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env_file: str = ".env") -> Settings:
        return cls(**{value.name: value.value for value in resolve(overrides, env_file)})


# ---------------------------------------------------------------------------------------
# Where each value comes from

DEFAULT, ENVIRONMENT, FLAG = "default", "environment", "flag"


@dataclass(frozen=True)
class Resolved:
    name: str
    env: str
    value: Any
    source: str  # DEFAULT, ENVIRONMENT, FLAG or the .env file's path

    def shown(self) -> str:
        """The value as a person may see it: secrets masked, paths and durations as given."""
        if self.value is None:
            return "(unset)"
        mask = SETTINGS[self.name].metadata["mask"]
        text = kind_of(self.name).show(self.value)
        return mask(text) if mask else text


SETTINGS: dict[str, Field[Any]] = {item.name: item for item in fields(Settings)}


def env_name(name: str) -> str:
    return str(SETTINGS[name].metadata["env"])


def kind_of(name: str) -> Kind:
    kind: Kind = SETTINGS[name].metadata["kind"]
    return kind


def meaning_of(name: str) -> str:
    return str(SETTINGS[name].metadata["meaning"])


def default_of(name: str) -> Any:
    item = SETTINGS[name]
    if item.default_factory is not MISSING:
        return item.default_factory()
    return item.default


def parse_setting(name: str, raw: str, label: str | None = None, where: str = "") -> Any:
    """The value of setting `name` from its text, or a SettingError naming `label`
    (the environment variable unless told otherwise) and `where` the text was found."""
    kind = kind_of(name)
    if raw == "" and kind.empty_means is not None:
        return ""
    try:
        return kind.parse(raw)
    except ValueError:
        found = f"{label or env_name(name)}={raw!r}" + (f" (in {where})" if where else "")
        raise SettingError(f"{found} is not {kind.expected}") from None


def _read_env_file(env_file: str) -> dict[str, str | None]:
    """The variables of a `.env` file; the producer install (no python-dotenv) reads none
    unless one exists, which it then refuses with the install command that reads it."""
    try:
        from dotenv import dotenv_values
    except ModuleNotFoundError:
        if Path(env_file).exists():
            raise SettingError(
                f"reading {env_file} needs the server install: pip install 'agentmon-fleet[server]'"
            ) from None
        return {}
    return dict(dotenv_values(env_file))


def resolve(overrides: Mapping[str, Any] | None = None, env_file: str = ".env") -> list[Resolved]:
    """Every setting's value and its source: flag > environment > .env file > default."""
    from_file = _read_env_file(env_file)
    resolved = []
    for name in SETTINGS:
        env = env_name(name)
        if overrides and overrides.get(name) is not None:
            value, source = overrides[name], FLAG
        elif _given(os.environ.get(env), name):
            value, source = parse_setting(name, os.environ[env]), ENVIRONMENT
        elif _given(from_file.get(env), name):
            value, source = parse_setting(name, str(from_file[env]), where=env_file), env_file
        else:
            value, source = default_of(name), DEFAULT
        resolved.append(Resolved(name, env, value, source))
    return resolved


def _given(raw: str | None, name: str) -> bool:
    return raw is not None and (raw != "" or kind_of(name).empty_means is not None)


ENV_TABLE = [(env_name(name), name) for name in SETTINGS]
