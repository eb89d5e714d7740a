"""Tests of the `agentmon` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentmon.config import SETTINGS, env_name


def agentmon(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {env_name(n) for n in SETTINGS}}
    return subprocess.run(
        [sys.executable, "-m", "agentmon", *args],
        cwd=cwd,
        env={**clean, "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
