"""deploy/systemd: each unit parsed for what a bare-metal install needs (an unprivileged user,
the optional environment file, hardening, a real agentmon command) and, where systemd is
installed, checked by `systemd-analyze verify` with any warning counted as a failure."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
INSTALLED_AGENTMON = "/opt/agentmon/venv/bin/agentmon"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
}


def service_section(unit: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    return dict(parser["Service"])


def is_agentmon_command(command: str) -> bool:
    agentmon = Path(sys.executable).parent / "agentmon"
    return subprocess.run([agentmon, command, "--help"], capture_output=True).returncode == 0


def test_there_is_an_embedded_unit_and_one_per_distributed_service() -> None:
    expected = {
        "agentmon.service",
        "agentmon-ingest-gateway.service",
        "agentmon-event-processor@.service",
        "agentmon-query-api.service",
        "agentmon-web-ui.service",
        "agentmon-openclaw-monitor.service",
    }
    assert {unit.name for unit in UNITS} == expected


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_each_unit_runs_an_agentmon_command_unprivileged_and_hardened(unit: Path) -> None:
    service = service_section(unit)
    assert service["User"] == "agentmon"
    assert service["EnvironmentFile"] == "-/etc/agentmon/env"
    for option, value in HARDENING.items():
        assert service.get(option) == value, option
    program, command, *_ = service["ExecStart"].split()
    assert program == INSTALLED_AGENTMON
    assert is_agentmon_command(command), command


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    # verify needs the program to exist: point the units at this checkout's agentmon.
    agentmon = str(Path(sys.executable).parent / "agentmon")
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_AGENTMON, agentmon))
    template = tmp_path / "agentmon-event-processor@.service"
    shutil.copy(template, tmp_path / "agentmon-event-processor@9464.service")
    names = sorted(path.name for path in tmp_path.iterdir() if not path.name.endswith("@.service"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
