"""`agentmon config`: every setting's effective value, secrets masked, and where it came
from (default, the .env file, the environment, a flag)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmon.config import SETTINGS, Settings, resolve
from tests.cli import agentmon

KEY = "sk-live-0123456789abcdefWXYZ"
PASSWORD = "hunter2-very-secret"
WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"


def table(stdout: str) -> dict[str, list[str]]:
    """setting → [variable, value, source]."""
    rows = [line.split() for line in stdout.splitlines()]
    assert rows[0] == ["setting", "variable", "value", "source"]
    return {row[0]: row[1:] for row in rows[1:]}


def test_values_sources_and_masked_secrets(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=postgresql://agentmon:{PASSWORD}@db.internal:5432/agentmon\n"
        "POLL_INTERVAL=90\n"
        "AGENTMON_LOG_LEVEL=debug\n"
    )
    env = {
        "AGENTMON_API_KEY": KEY,
        "AGENTMON_ALERT_WEBHOOK": WEBHOOK,
        "POLL_INTERVAL": "5m",
        "NATS_URL": f"nats://a:{PASSWORD}@n1:4222,nats://n2:4222",
    }
    result = agentmon(["config", "--retention-days", "30", "--ui-addr", ":9000"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout and PASSWORD not in result.stdout
    assert "XXXXXXXXXXXXXXXX" not in result.stdout
    rows = table(result.stdout)
    assert set(rows) == set(SETTINGS)
    assert rows["database_url"] == [
        "DATABASE_URL",
        "postgresql://agentmon:****@db.internal:5432/agentmon",
        ".env",
    ]
    assert rows["api_key"] == ["AGENTMON_API_KEY", "****WXYZ", "environment"]
    assert rows["nats_url"] == ["NATS_URL", "nats://a:****@n1:4222,nats://n2:4222", "environment"]
    assert rows["alert_webhook"] == [
        "AGENTMON_ALERT_WEBHOOK",
        "https://hooks.slack.com/****",
        "environment",
    ]
    assert rows["poll_interval"] == ["POLL_INTERVAL", "5m", "environment"]  # beats .env
    assert rows["log_level"] == ["AGENTMON_LOG_LEVEL", "debug", ".env"]
    assert rows["retention_days"] == ["AGENTMON_RETENTION_DAYS", "30", "flag"]
    assert rows["ui_addr"] == ["AGENTMON_UI_ADDR", ":9000", "flag"]
    assert rows["retention_interval"] == ["AGENTMON_RETENTION_INTERVAL", "1h", "default"]
    assert rows["data_dir"] == [
        "AGENTMON_DATA_DIR",
        str(tmp_path / ".local" / "share" / "agentmon"),
        "default",
    ]


def test_another_env_file_is_named_as_the_source(tmp_path: Path) -> None:
    other = tmp_path / "prod.env"
    other.write_text("AGENTMON_RETENTION_DAYS=7\n")
    result = agentmon(["--env-file", str(other), "config"], tmp_path, {})
    assert table(result.stdout)["retention_days"] == ["AGENTMON_RETENTION_DAYS", "7", str(other)]


def test_precedence_flag_environment_file_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AGENTMON_ADDR=:7001\nAGENTMON_QUERY_ADDR=:7002\nAGENTMON_UI_ADDR=:7003\n")
    monkeypatch.setenv("AGENTMON_QUERY_ADDR", ":8002")
    monkeypatch.setenv("AGENTMON_UI_ADDR", ":8003")
    monkeypatch.delenv("AGENTMON_OTLP_ADDR", raising=False)
    monkeypatch.delenv("AGENTMON_ADDR", raising=False)
    settings = Settings.load({"ui_addr": ":9003"}, env_file=str(env_file))
    assert (settings.ingest_addr, settings.query_addr, settings.ui_addr) == (
        ":7001",
        ":8002",
        ":9003",
    )
    assert settings.otlp_addr == ":4318"
    sources = {item.name: item.source for item in resolve({"ui_addr": ":9003"}, str(env_file))}
    assert sources["ingest_addr"] == str(env_file)
    assert sources["query_addr"] == "environment"
    assert sources["ui_addr"] == "flag"
    assert sources["otlp_addr"] == "default"


def test_an_empty_otlp_address_disables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTMON_OTLP_ADDR", "")
    monkeypatch.setenv("AGENTMON_ADDR", "")  # empty means unset for the others
    settings = Settings.load(env_file="/nonexistent/.env")
    assert settings.otlp_addr == ""
    assert settings.ingest_addr == ":8080"
