"""A bad setting stops every command with one line naming the variable, the value and what
was expected, exit code 2 and no traceback, for every kind of value."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmon.config import SETTINGS, env_name, kind_of
from tests.cli import agentmon

BAD_VALUES = [
    ("AGENTMON_RETENTION_DAYS", "abc", "is not a number of days (expected e.g. 30"),
    ("AGENTMON_RETENTION_DAYS", "-3", "is not a number of days"),
    ("POLL_INTERVAL", "fast", "is not a duration above zero (expected e.g. 30s, 5m, 1h)"),
    ("AGENTMON_RETENTION_INTERVAL", "0", "is not a duration above zero"),
    ("AGENTMON_ALERT_COOLDOWN", "10 minutes", "is not a duration (expected e.g. 0, 30s, 10m)"),
    ("AGENTMON_VM_DISK_ALERT_PCT", "150", "is not a percentage above 0 (expected e.g. 90"),
    ("AGENTMON_VM_MEMORY_ALERT_PCT", "ninety", "is not a percentage above 0"),
    ("AGENTMON_VM_MEMORY_ALERT_PCT", "0", "is not a percentage above 0"),
    ("AGENTMON_ADDR", "8080x", "is not a listen address (expected e.g. :8080"),
    ("AGENTMON_QUERY_ADDR", ":99999", "is not a listen address"),
    ("AGENTMON_INGEST_URL", "127.0.0.1:8080", "is not an http(s) URL"),
    ("AGENTMON_ALERT_WEBHOOK", "hooks.slack.com/x", "is not an http(s) URL"),
    ("DATABASE_URL", "mysql://db/agentmon", "is not a PostgreSQL URL"),
    ("NATS_URL", "http://127.0.0.1:4222", "is not a NATS URL"),
    ("NATS_TOPIC", "agentmon events", "is not a NATS subject"),
    ("AGENTMON_NATS_STREAM", "AGENTMON.EVENTS", "is not a JetStream name"),
    ("AGENTMON_LOG_LEVEL", "verbose", "is not a log level (expected one of debug, info,"),
    ("AGENTMON_LOG_FORMAT", "xml", "is not a log format (expected one of text, json)"),
    ("AGENTMON_INSECURE", "maybe", "is not on or off (expected 1 or 0)"),
    ("AGENTMON_API_KEY", "   ", "is not any text"),
    ("AGENTMON_MAX_CONNECTIONS", "-1", "is not a whole number (expected e.g. 1000"),
    ("AGENTMON_LIVE_MAX_VIEWERS", "many", "is not a whole number"),
    ("AGENTMON_ALLOWED_ORIGINS", "example.com", "is not origins (expected e.g. https://"),
    ("AGENTMON_PRICES", "/nonexistent/prices.toml", "is not a readable price file (TOML or"),
    ("AGENTMON_BUDGETS", "/nonexistent/budgets.toml", "is not a readable budget file (TOML or"),
    ("AGENTMON_PARTITION_PERIOD", "month", "is not a partition period (expected day or week)"),
    ("AGENTMON_NATS_REPLICAS", "7", "is not a number of stream copies (expected 1 to 5"),
    ("AGENTMON_PROCESSOR_FETCH", "0", "is not a number of messages (expected 1 to 10000"),
    ("AGENTMON_INGEST_MAX_IN_FLIGHT", "0", "is not a number of requests (expected 1 to 1000000"),
    ("AGENTMON_INGEST_MAX_IN_FLIGHT", "lots", "is not a number of requests"),
    ("AGENTMON_INGEST_MAX_LAG", "0", "is not a duration above zero"),
    ("AGENTMON_TRUSTED_PROXIES", "10.0.0.0/99", "is not addresses or networks (expected e.g."),
    ("AGENTMON_TRUSTED_PROXIES", "proxy.local", "is not addresses or networks"),
    ("AGENTMON_TRUSTED_USER_HEADER", "X User", "is not an HTTP header name (expected e.g."),
    ("AGENTMON_TRUSTED_USER_ROLE", "root", "is not viewer, admin or none"),
]


@pytest.mark.parametrize(("variable", "value", "expected"), BAD_VALUES)
def test_a_bad_value_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    result = agentmon(["config"], tmp_path, {variable: value})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"agentmon: {variable}={value!r} {expected}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_every_kind_of_value_is_covered_above() -> None:
    kinds = {id(kind_of(name)) for name in SETTINGS}
    tested = {variable for variable, _, _ in BAD_VALUES}
    covered = {id(kind_of(name)) for name in SETTINGS if env_name(name) in tested}
    paths = {id(kind_of("data_dir")), id(kind_of("openclaw_registry")), id(kind_of("otlp_addr"))}
    assert kinds - covered <= paths  # paths are covered by the test below


def test_paths_must_be_what_they_name(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = agentmon(["config"], tmp_path, {"AGENTMON_DATA_DIR": str(a_file)})
    assert result.returncode == 2
    assert result.stderr == (
        f"agentmon: AGENTMON_DATA_DIR={str(a_file)!r} is not a directory "
        "(expected e.g. ~/.local/share/agentmon)\n"
    )
    result = agentmon(["config"], tmp_path, {"OPENCLAW_REGISTRY": str(tmp_path)})
    assert result.returncode == 2
    assert "OPENCLAW_REGISTRY=" in result.stderr and "is not a file path" in result.stderr
    result = agentmon(["config"], tmp_path, {"AGENTMON_OTLP_ADDR": "nowhere"})
    assert result.returncode == 2 and "AGENTMON_OTLP_ADDR='nowhere' is not a listen" in (
        result.stderr
    )


def test_a_bad_value_in_the_env_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGENTMON_RETENTION_DAYS=abc\n")
    result = agentmon(["migrate"], tmp_path, {})
    assert result.returncode == 2
    assert result.stderr == (
        "agentmon: AGENTMON_RETENTION_DAYS='abc' (in .env) is not a number of days "
        "(expected e.g. 30, or 0 to keep everything)\n"
    )


def test_a_bad_flag_value_names_the_flag(tmp_path: Path) -> None:
    result = agentmon(["serve", "--addr", "foo"], tmp_path, {})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "agentmon serve: error: argument --addr: --addr='foo' is not a listen address "
        "(expected e.g. :8080 or 127.0.0.1:8080)"
    )
    assert "Traceback" not in result.stderr


def test_services_stop_on_a_bad_value_before_starting(tmp_path: Path) -> None:
    for command in ("serve", "ingest-gateway", "event-processor", "query-api", "migrate"):
        result = agentmon([command], tmp_path, {"AGENTMON_LOG_LEVEL": "verbose"})
        assert result.returncode == 2, command
        assert result.stderr.splitlines() == [
            "agentmon: AGENTMON_LOG_LEVEL='verbose' is not a log level "
            "(expected one of debug, info, warning, error, critical)"
        ]
