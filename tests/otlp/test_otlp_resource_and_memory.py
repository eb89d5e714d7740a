"""Who sent an export (the resource → event.source) and the receiver's bounded memory."""

from __future__ import annotations

import pytest

from agentmon.otlp.memory import BoundedMap
from agentmon.otlp.origin import Origin, resolve_origin


@pytest.mark.parametrize(
    ("service", "framework"),
    [
        ("claude-code", "claude-code"),
        ("codex_cli_rs", "codex"),
        ("codex_exec", "codex"),
        ("codex_tui", "codex"),
        ("gemini-cli", "gemini-cli"),
        ("openclaw-gateway", "openclaw"),
        ("billing-api", "billing-api"),
        ("unknown_service:python", "otel"),
        (None, "otel"),
    ],
)
def test_service_name_picks_the_framework(service: str | None, framework: str) -> None:
    resource = {"service.name": service} if service else {}
    assert resolve_origin(resource).framework == framework


def test_host_name_is_host_and_client_id() -> None:
    assert resolve_origin({"service.name": "codex_tui", "host.name": "laptop"}) == Origin(
        "codex", "laptop", "laptop"
    )
    assert resolve_origin({"service.instance.id": "pod-7"}) == Origin("otel", None, "pod-7")


def test_bounded_map_forgets_the_least_recently_used() -> None:
    remembered = BoundedMap(capacity=2)
    remembered.put("a", "1")
    remembered.put("b", "2")
    assert remembered.get("a") == "1"  # "a" is now the most recently used
    remembered.put("c", "3")
    assert (remembered.get("a"), remembered.get("b"), remembered.get("c")) == ("1", None, "3")
    assert len(remembered) == 2
