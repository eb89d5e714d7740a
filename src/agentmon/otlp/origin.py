"""Who sent an export: the OTLP resource → agentmon's `event.source`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentmon.otlp.attributes import as_text, first

DEFAULT_FRAMEWORK = "otel"

KNOWN_SERVICES: dict[str, str] = {
    "claude-code": "claude-code",
    "claude_code": "claude-code",
    "codex_cli_rs": "codex",
    "codex_exec": "codex",
    "codex_tui": "codex",
    "codex": "codex",
    "gemini-cli": "gemini-cli",
    "gemini_cli": "gemini-cli",
    "openclaw-gateway": "openclaw",
    "openclaw": "openclaw",
}
"""Known `service.name` values and the framework name agentmon uses for them."""


@dataclass(frozen=True, slots=True)
class Origin:
    framework: str
    host: str | None = None
    client_id: str | None = None


def resolve_origin(resource: Mapping[str, Any]) -> Origin:
    """`service.name` picks the framework; `host.name` is both host and client id."""
    service = as_text(resource.get("service.name"))
    if service is None or service.startswith("unknown_service"):
        framework = DEFAULT_FRAMEWORK
    else:
        framework = KNOWN_SERVICES.get(service.lower(), service)
    host = as_text(resource.get("host.name"))
    client_id = as_text(first(resource, "host.name", "service.instance.id"))
    return Origin(framework=framework, host=host, client_id=client_id)
