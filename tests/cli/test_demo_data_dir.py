"""`serve --demo` never writes into the database a real `serve` uses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agentmon.cli import _demo_settings, build_parser
from agentmon.config import Settings


def test_demo_gets_its_own_directory_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = dataclasses.replace(
        Settings.load(env_file="/nonexistent/.env"),
        data_dir=tmp_path,
        database_url="postgresql://u@127.0.0.1:5432/production",
    )
    demo = _demo_settings(real, chosen=False)
    assert demo.data_dir == tmp_path / "demo"
    assert demo.sqlite_path != real.sqlite_path
    assert demo.database_url is None
    assert f"demo data goes to {tmp_path / 'demo'}" in capsys.readouterr().err


def test_demo_uses_a_directory_given_on_the_command_line(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--demo", "--data-dir", str(tmp_path)])
    settings = Settings.load({"data_dir": args.data_dir}, env_file="/nonexistent/.env")
    assert _demo_settings(settings, chosen=args.data_dir is not None).data_dir == tmp_path
