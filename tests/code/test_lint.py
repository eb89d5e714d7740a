"""The code stays as the project asks: ruff clean, `mypy --strict` on src/, plain mypy on tests/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(300)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=280)


def test_ruff_is_clean() -> None:
    result = run(str(BIN / "ruff"), "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_strict_on_src_and_plain_on_tests() -> None:
    strict = run(str(BIN / "mypy"))
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert "strict = true" in (REPO / "pyproject.toml").read_text()
    tests = run(str(BIN / "mypy"), "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr
