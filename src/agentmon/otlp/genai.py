"""Reading GenAI semantic-convention attributes (and the tools' variants of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentmon.otlp.attributes import as_float, as_int, as_text, first
from agentmon.otlp.build import usage_payload

SESSION_KEYS = ("gen_ai.conversation.id", "session.id", "conversation.id")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "openclaw.model", "model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "openclaw.provider")
TOOL_CALL_ID_KEYS = ("gen_ai.tool.call.id", "gen_ai.tool.call_id")
COST_KEYS = ("gen_ai.usage.cost", "gen_ai.usage.cost_usd", "openclaw.cost.usd", "cost_usd")


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
    """`gen_ai.usage.*` (current and deprecated names) or OpenClaw's `openclaw.tokens.*`."""

    def count(*keys: str) -> int | None:
        return as_int(first(attrs, *keys))

    return usage_payload(
        input_tokens=count(
            "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "openclaw.tokens.input"
        ),
        output_tokens=count(
            "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "openclaw.tokens.output"
        ),
        cache_read_tokens=count(
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "openclaw.tokens.cache_read",
        ),
        cache_write_tokens=count(
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "openclaw.tokens.cache_write",
        ),
        total_tokens=count("gen_ai.usage.total_tokens", "openclaw.tokens.total"),
    )
