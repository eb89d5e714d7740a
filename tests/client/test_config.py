"""The producer's configuration: environment variables, defaults, units, bad values."""

from __future__ import annotations

import pytest

from agentmon.client.config import (
    SPOOL_MAX_AGE_SECONDS,
    SPOOL_MAX_BYTES,
    ClientConfig,
    parse_duration,
    parse_size,
)


def test_defaults_without_any_variable() -> None:
    config = ClientConfig({"XDG_STATE_HOME": "/state", "AGENTMON_HOST": "box"})
    assert config.ingest_url == "http://127.0.0.1:8080"
    assert config.api_key is None
    assert config.spool_dir == "/state/agentmon/spool"
    assert config.log_path == "/state/agentmon/hooks.log"
    assert (config.timeout, config.spool_max_files) == (2.0, 10_000)
    assert (config.spool_max_bytes, config.spool_max_age) == (
        SPOOL_MAX_BYTES,
        SPOOL_MAX_AGE_SECONDS,
    )
    assert config.source("x") == {"framework": "x", "client_id": "box", "host": "box"}


def test_every_variable_is_read() -> None:
    config = ClientConfig(
        {
            "AGENTMON_INGEST_URL": "https://gw.example:8443/",
            "AGENTMON_API_KEY": "k",
            "AGENTMON_HOOK_TIMEOUT": "0.5",
            "AGENTMON_SPOOL_DIR": "/s",
            "AGENTMON_SPOOL_MAX_FILES": "7",
            "AGENTMON_SPOOL_MAX_BYTES": "1MiB",
            "AGENTMON_SPOOL_MAX_AGE": "12h",
            "AGENTMON_VM_NAME": "vm-3",
            "AGENTMON_HOST": "h",
        }
    )
    assert config.ingest_url == "https://gw.example:8443"
    assert (config.api_key, config.timeout, config.spool_dir) == ("k", 0.5, "/s")
    assert (config.spool_max_files, config.spool_max_bytes, config.spool_max_age) == (
        7,
        1024**2,
        43_200.0,
    )
    assert (config.client_id, config.host) == ("vm-3", "h")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("268435456", 268_435_456),
        ("256MiB", 256 * 1024**2),
        ("256M", 256 * 1024**2),
        ("1.5g", int(1.5 * 1024**3)),
        ("64 kb", 65_536),
        ("10B", 10),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text, 1) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("12h", 43_200.0),
        ("7d", 604_800.0),
        ("2w", 1_209_600.0),
    ],
)
def test_durations(text: str, expected: float) -> None:
    assert parse_duration(text, 1.0) == expected


@pytest.mark.parametrize("text", ["", "lots", "-5", "5x", "MiB"])
def test_values_that_cannot_be_read_fall_back_to_the_default(text: str) -> None:
    """A producer never fails the program it observes because of its own configuration."""
    assert parse_size(text, 42) == 42
    assert parse_duration(text, 4.2) == 4.2
    config = ClientConfig({"AGENTMON_HOOK_TIMEOUT": text or "x", "AGENTMON_SPOOL_MAX_AGE": text})
    assert (config.timeout, config.spool_max_age) == (2.0, SPOOL_MAX_AGE_SECONDS)
