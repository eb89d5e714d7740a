"""agentmon's token-usage vocabulary: every tool's token-count keys → agentmon's counters.

One table for the whole code base (hook handlers, the history importer, OTLP and the
read-model projection), stdlib only so the hooks can import it cheaply. The counters are
agentmon's five (`input_tokens`, `output_tokens`, `cache_read_tokens`, `cache_write_tokens`,
`total_tokens`) plus `reasoning_tokens`, shown but not summed by the store.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COUNTERS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
)

# Per counter, the keys tools use for it, in order of preference. Sources: Anthropic and
# Claude Code (`cache_*_input_tokens`), OpenAI and Codex (`prompt_tokens`,
# `cached_input_tokens`, `reasoning_output_tokens`), Gemini (`usageMetadata` camelCase and
# its CLI's `tokens{input,output,cached,thoughts,total}`), OpenClaw/pi (`cacheRead`,
# `cacheWrite`, `totalTokens`), Hermes and the OTLP log events (`*_token_count`).
ALIASES: dict[str, tuple[str, ...]] = {
    "input_tokens": (
        "input_tokens",
        "prompt_tokens",
        "input",
        "inputTokens",
        "input_token_count",
        "promptTokenCount",
    ),
    "output_tokens": (
        "output_tokens",
        "completion_tokens",
        "output",
        "outputTokens",
        "output_token_count",
        "candidatesTokenCount",
    ),
    "cache_read_tokens": (
        "cache_read_tokens",
        "cache_read_input_tokens",
        "cached_input_tokens",
        "cacheRead",
        "cache_read",
        "cached",
        "cached_tokens",
        "cached_token_count",
        "cachedContentTokenCount",
    ),
    "cache_write_tokens": (
        "cache_write_tokens",
        "cache_creation_input_tokens",
        "cacheWrite",
        "cache_write",
        "cache_creation_tokens",
    ),
    "total_tokens": (
        "total_tokens",
        "total",
        "totalTokens",
        "totalTokenCount",
        "total_token_count",
    ),
    "reasoning_tokens": (
        "reasoning_tokens",
        "reasoning_output_tokens",
        "thoughts",
        "thoughtsTokenCount",
        "thoughts_token_count",
    ),
}

ALL_KEYS = frozenset(alias for aliases in ALIASES.values() for alias in aliases)
_SLOTS = {
    alias: (name, rank) for name, aliases in ALIASES.items() for rank, alias in enumerate(aliases)
}


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def known_usage(raw: object) -> dict[str, int]:
    """The counters `raw` reports, under agentmon's names (absent ones left out); {} if none.
    Where `raw` has several keys for one counter, the one earliest in ALIASES wins."""
    if not isinstance(raw, dict):
        return {}
    best: dict[str, tuple[int, int]] = {}
    for key, value in raw.items():
        slot = _SLOTS.get(key)
        if slot is None:
            continue
        count = _count(value)
        if count is None:
            continue
        name, rank = slot
        if name not in best or rank < best[name][0]:
            best[name] = (rank, count)
    return {name: count for name, (_rank, count) in best.items()}


def normalize_usage(raw: Any) -> dict[str, int]:
    """agentmon's five counters from any tool's keys (missing ones 0, total defaults to
    input + output); {} when `raw` is not an object."""
    if not isinstance(raw, dict):
        return {}
    known = known_usage(raw)
    counts = {name: known.get(name, 0) for name in COUNTERS}
    if not counts["total_tokens"]:
        counts["total_tokens"] = counts["input_tokens"] + counts["output_tokens"]
    return counts


# The same counters as OTLP span and log attributes: GenAI semantic conventions (current and
# deprecated names), OpenClaw's `openclaw.tokens.*` and OpenInference's `llm.token_count.*`.
ATTRIBUTE_ALIASES: dict[str, tuple[str, ...]] = {
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "openclaw.tokens.input",
        "llm.token_count.prompt",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "openclaw.tokens.output",
        "llm.token_count.completion",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "openclaw.tokens.cache_read",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "openclaw.tokens.cache_write",
        "llm.token_count.prompt_details.cache_write",
    ),
    "total_tokens": (
        "gen_ai.usage.total_tokens",
        "openclaw.tokens.total",
        "llm.token_count.total",
    ),
}
