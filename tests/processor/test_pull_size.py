"""AGENTMON_PROCESSOR_FETCH: how many JetStream messages a processor pulls at once."""

from __future__ import annotations

import pytest

from agentmon.config import SettingError, Settings


def test_the_default_pull_is_64_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTMON_PROCESSOR_FETCH", raising=False)
    assert Settings.load(env_file="").processor_fetch == 64


@pytest.mark.parametrize("raw", ["0", "10001", "many", "-5", "2.5"])
def test_a_bad_pull_size_is_refused_naming_the_setting(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTMON_PROCESSOR_FETCH", raw)
    with pytest.raises(SettingError, match="AGENTMON_PROCESSOR_FETCH"):
        Settings.load(env_file="")
