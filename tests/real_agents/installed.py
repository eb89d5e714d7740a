"""Where the real agent CLIs are installed, and what happens when one is missing.

`scripts/real-agents/*.sh` install each CLI at a pinned version under `AGENTS_HOME`
(`$AGENTMON_REAL_AGENTS_DIR`, default `~/.cache/agentmon-real-agents`), one folder per
`<package>@<version>`. A test asks for a binary with `real_agent_bin`; when it is absent the
test skips, except where `AGENTMON_REQUIRE_REAL_AGENTS=1` (set by scripts/test.sh under CI),
where a missing agent is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AGENTS_HOME = Path(
    os.environ.get("AGENTMON_REAL_AGENTS_DIR") or Path.home() / ".cache" / "agentmon-real-agents"
)


def real_agent_bin(install: str, binary: str) -> Path:
    """The binary `binary` of the npm install folder `install` (e.g. `claude-code@2.1.197`)."""
    path = AGENTS_HOME / install / "node_modules" / ".bin" / binary
    if path.exists():
        return path
    message = f"{binary} not installed at {path}: run the scripts in scripts/real-agents/"
    if os.environ.get("AGENTMON_REQUIRE_REAL_AGENTS") == "1":
        pytest.fail(message)
    pytest.skip(message)
