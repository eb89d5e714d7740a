"""Fixtures of the integration tests (helpers live in integration_helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import HandlerRunner, QueryClient
from tests.conftest import free_port


@pytest.fixture
def hook_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a handler subprocess: private spool, state and log locations."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTMON_")}
    env.update(
        AGENTMON_SPOOL_DIR=str(tmp_path / "spool"),
        AGENTMON_STATE_DIR=str(tmp_path / "state"),
        AGENTMON_HOOK_LOG=str(tmp_path / "hooks.log"),
        AGENTMON_CLIENT_ID="test-laptop",
        AGENTMON_HOST="test-laptop",
        # these tests look at the spool right after a hook: the hook waits for the gateway
        # (test_hookio.py tests the default, a sender forked in the background)
        AGENTMON_HOOK_DELIVERY="wait",
    )
    return env


@pytest.fixture
def run_handler(hook_env: dict[str, str]) -> HandlerRunner:
    return HandlerRunner(hook_env)


@pytest.fixture
def server(embedded_server: Any) -> Any:
    """The lead's session-scoped embedded `agentmon serve` (tests/conftest.py)."""
    return embedded_server


@pytest.fixture
def query(server: Any) -> QueryClient:
    return QueryClient(server.query_url)


@pytest.fixture
def unused_port() -> int:
    """A local port nothing listens on: a gateway that is down."""
    return free_port()
