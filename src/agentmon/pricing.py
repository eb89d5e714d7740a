"""What one LLM call cost: the tool's own figure when it reports one, else an estimate.

Estimates come from the user's price file (`AGENTMON_PRICES`, which wins) or from
`genai-prices`, whose price database ships inside the package (no network). A model no price
is known for stays unpriced: its cost is `None`, never 0.

agentmon's `input_tokens` counts only the uncached input (as Claude Code and OTLP GenAI
report it); genai-prices' `input_tokens` counts all input, cache reads and writes included.
`_genai_counts` is the one place that converts.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

CostSource = Literal["reported", "estimated", "none"]
REPORTED: CostSource = "reported"
ESTIMATED: CostSource = "estimated"
UNPRICED: CostSource = "none"

# The framework says who served the model when the event does not.
PROVIDER_OF_FRAMEWORK = {
    "claude-code": "anthropic",
    "codex": "openai",
    "gemini-cli": "google",
}

_PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
_PER_MILLION = 1_000_000


class PriceFileError(ValueError):
    """The user's price file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens; cache prices default to the input price."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, usage: dict[str, int]) -> float:
        cache_read = self.input if self.cache_read is None else self.cache_read
        cache_write = self.input if self.cache_write is None else self.cache_write
        total = (
            usage.get("input_tokens", 0) * self.input
            + usage.get("output_tokens", 0) * self.output
            + usage.get("cache_read_tokens", 0) * cache_read
            + usage.get("cache_write_tokens", 0) * cache_write
        )
        return total / _PER_MILLION


@dataclass(frozen=True)
class Priced:
    cost_usd: float | None
    source: CostSource


_user_prices: dict[str, Price] = {}


def model_key(model: str) -> str:
    """The name a model is priced and grouped under: lower case, without a router's vendor
    prefix, version dots as dashes, so "anthropic/claude-sonnet-4.6" (Hermes, OpenRouter)
    and "claude-sonnet-4-6" (Claude Code) are one model."""
    name = model.strip().lower().rpartition("/")[2]
    return "".join(
        "-"
        if ch == "." and 0 < i < len(name) - 1 and name[i - 1].isdigit() and name[i + 1].isdigit()
        else ch
        for i, ch in enumerate(name)
    )


def use_price_file(path: Path | None) -> None:
    """Load (or, with None, forget) the user's prices; they win over genai-prices."""
    global _user_prices
    _user_prices = load_price_file(path) if path is not None else {}


def load_price_file(path: Path) -> dict[str, Price]:
    """`{model: Price}` from a TOML or JSON file: `[models."name"]` / `{"models": {...}}` with
    `input`, `output` and optional `cache_read`, `cache_write` in USD per million tokens."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read the price file ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise PriceFileError(f"{path}: not valid {_format_of(path)} ({exc})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise PriceFileError(f"{path}: expected a 'models' table of model name → prices")
    return {
        model_key(str(name)): _price_of(path, str(name), entry) for name, entry in models.items()
    }


def _format_of(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _price_of(path: Path, model: str, entry: Any) -> Price:
    where = f"{path}: model {model!r}"
    if not isinstance(entry, dict):
        raise PriceFileError(f"{where}: expected a table with input and output prices")
    unknown = set(entry) - set(_PRICE_KEYS)
    if unknown:
        raise PriceFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict[str, float] = {}
    for key in _PRICE_KEYS:
        value = entry.get(key)
        if value is None:
            if key in ("input", "output"):
                raise PriceFileError(f"{where}: '{key}' (USD per million tokens) is missing")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise PriceFileError(f"{where}: '{key}' must be a number ≥ 0, not {value!r}")
        values[key] = float(value)
    return Price(**values)


def price_call(
    usage: dict[str, int],
    reported_cost: float | None,
    *,
    model: str | None,
    provider: str | None,
    framework: str | None,
    ts_ms: int,
) -> Priced:
    """The cost of one call: the reported figure wins; else the estimate; else unpriced."""
    if reported_cost is not None:
        return Priced(reported_cost, REPORTED)
    estimate = estimate_cost(
        usage, model, provider or PROVIDER_OF_FRAMEWORK.get(framework or ""), ts_ms
    )
    return Priced(estimate, UNPRICED if estimate is None else ESTIMATED)


def estimate_cost(
    usage: dict[str, int], model: str | None, provider: str | None, ts_ms: int
) -> float | None:
    if not model or not any(usage.get(k) for k in _TOKEN_KEYS):
        return None
    own = _user_prices.get(model_key(model))
    if own is not None:
        return own.cost(usage)
    return _genai_estimate(usage, model, provider, ts_ms)


_TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _genai_estimate(
    usage: dict[str, int], model: str, provider: str | None, ts_ms: int
) -> float | None:
    found = _find_model(model, provider)
    if found is None:
        return None
    when = datetime.fromtimestamp(ts_ms / 1000, UTC)
    counts = _genai_counts(usage)
    try:
        rates = _rates(found, when, counts["input_tokens"])
    except (LookupError, ValueError):  # no price on that date, or counts it cannot take
        return None
    fresh_input = (
        counts["input_tokens"] - counts["cache_read_tokens"] - counts["cache_write_tokens"]
    )
    return (
        fresh_input * rates.input
        + counts["cache_read_tokens"] * rates.cache_read
        + counts["cache_write_tokens"] * rates.cache_write
        + counts["output_tokens"] * rates.output
    )


@dataclass(frozen=True)
class _Rates:
    """USD per token, for one model's prices at one time and one tier."""

    input: float
    output: float
    cache_read: float
    cache_write: float


_rates_cache: dict[tuple[int, int, tuple[bool, ...]], _Rates] = {}


def _rates(found: tuple[Any, Any], when: datetime, total_input: int) -> _Rates:
    """Per-token rates from genai-prices' own calculation, remembered per price set and tier.

    A price is linear in each count once its tier is fixed, and the tier depends only on the
    total input (`total_input > tier.start`), so four calculations give every call in the
    same tier its price: a full calculation costs ~0.3 ms, which would bound the write path.
    """
    provider_info, model_info = found
    prices = model_info.get_prices(when)
    starts = sorted(
        {tier.start for value in vars(prices).values() for tier in getattr(value, "tiers", ())}
    )
    key = (id(model_info), id(prices), tuple(total_input > start for start in starts))
    rates = _rates_cache.get(key)
    if rates is None:
        size = max(total_input, 1)

        def per_token(**counts: int) -> float:
            price = model_info.calc_price(
                _genai_usage(counts), provider_info, genai_request_timestamp=when
            )
            return float(price.total_price) / size

        only_input = per_token(input_tokens=size)
        rates = _Rates(
            input=only_input,
            output=per_token(input_tokens=size, output_tokens=size) - only_input,
            cache_read=per_token(input_tokens=size, cache_read_tokens=size),
            cache_write=per_token(input_tokens=size, cache_write_tokens=size),
        )
        _rates_cache[key] = rates
    return rates


@lru_cache(maxsize=4096)
def _find_model(model: str, hint: str | None) -> tuple[Any, Any] | None:
    """genai-prices' provider and model for `model`: under the hinted provider when it has
    it, else under whichever does; None when nobody does. Remembered: the lookup costs ten
    times the price calculation."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    for name, provider in _candidates(model, hint):
        try:
            return snapshot.find_provider_model(name, None, provider, None)
        except LookupError:
            continue
    return None


def _candidates(model: str, hint: str | None) -> list[tuple[str, str | None]]:
    """Where to look: under the hint, anywhere, and for a routed id ("anthropic/claude-…",
    as Hermes and OpenRouter name models) the vendor's own price, the router's, then the
    vendor's under the model's key ("claude-sonnet-4.6" → "claude-sonnet-4-6")."""
    tries: list[tuple[str, str | None]] = [(model, hint)] if hint else []
    tries.append((model, None))
    vendor, _, name = model.partition("/")
    if name:
        tries += [(name, vendor), (model, "openrouter"), (model_key(model), vendor)]
    return tries


def _genai_counts(usage: dict[str, int]) -> dict[str, int]:
    """agentmon's counts → genai-prices' (whose input includes the cache reads and writes)."""
    cache_read = usage.get("cache_read_tokens", 0)
    cache_write = usage.get("cache_write_tokens", 0)
    return {
        "input_tokens": usage.get("input_tokens", 0) + cache_read + cache_write,
        "output_tokens": usage.get("output_tokens", 0),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
    }


def _genai_usage(counts: dict[str, int]) -> Any:
    from genai_prices import Usage

    return Usage(**counts)


def cost_source(reported: int, estimated: int, unpriced: int) -> str | None:
    """What a total is made of, from its calls: one kind names it, several are "mixed"."""
    kinds = [
        name
        for name, count in ((REPORTED, reported), (ESTIMATED, estimated), (UNPRICED, unpriced))
        if count
    ]
    if not kinds:
        return None
    return kinds[0] if len(kinds) == 1 else "mixed"


def priced_total(cost: float | None, reported: int, estimated: int) -> float | None:
    """A summed cost is null when none of its calls had a price (not reported ≠ free)."""
    return cost if (reported or estimated) else None
