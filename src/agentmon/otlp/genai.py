"""Reading GenAI semantic-convention attributes (and the tools' variants of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentmon.client.usage import ATTRIBUTE_ALIASES
from agentmon.otlp.attributes import as_float, as_int, as_text, first
from agentmon.otlp.build import usage_payload

SESSION_KEYS = ("gen_ai.conversation.id", "session.id", "conversation.id")
MODEL_KEYS = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "openclaw.model",
    "llm.model_name",
    "model",
)
PROVIDER_KEYS = (
    "gen_ai.provider.name",
    "gen_ai.system",
    "openclaw.provider",
    "llm.provider",
    "llm.system",
)
TOOL_CALL_ID_KEYS = ("gen_ai.tool.call.id", "gen_ai.tool.call_id")
COST_KEYS = ("gen_ai.usage.cost", "gen_ai.usage.cost_usd", "openclaw.cost.usd", "cost_usd")
USAGE_KEYS = frozenset(key for keys in ATTRIBUTE_ALIASES.values() for key in keys)
"""Every attribute `usage_of` reads."""


def session_of(attrs: Mapping[str, Any]) -> str | None:
    return as_text(first(attrs, *SESSION_KEYS))


def model_of(attrs: Mapping[str, Any]) -> str | None:
    return as_text(first(attrs, *MODEL_KEYS))


def provider_of(attrs: Mapping[str, Any]) -> str | None:
    return as_text(first(attrs, *PROVIDER_KEYS))


def tool_call_id_of(attrs: Mapping[str, Any]) -> str | None:
    return as_text(first(attrs, *TOOL_CALL_ID_KEYS))


def cost_of(attrs: Mapping[str, Any]) -> float | None:
    return as_float(first(attrs, *COST_KEYS))


def usage_of(attrs: Mapping[str, Any]) -> dict[str, int] | None:
    """`gen_ai.usage.*` (current and deprecated names), OpenClaw's `openclaw.tokens.*` or
    OpenInference's `llm.token_count.*` (the table is agentmon.client.usage's)."""
    if USAGE_KEYS.isdisjoint(attrs):
        return None  # most spans (tools, agents, internals) count no tokens: skip the lookups
    counts = {name: as_int(first(attrs, *keys)) for name, keys in ATTRIBUTE_ALIASES.items()}
    return usage_payload(**counts)
