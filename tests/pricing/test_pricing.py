"""One LLM call's cost: the tool's figure, an estimate from genai-prices or the user's file,
or no price at all (None, never 0)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentmon import pricing
from agentmon.config import SettingError, parse_setting
from agentmon.pricing import PriceFileError, price_call

AUGUST = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp() * 1000)
FEBRUARY = int(datetime(2026, 2, 20, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(autouse=True)
def no_user_prices() -> Iterator[None]:
    pricing.use_price_file(None)
    yield
    pricing.use_price_file(None)


def priced(
    usage: dict[str, int],
    model: str,
    *,
    framework: str = "claude-code",
    reported_cost: float | None = None,
    ts_ms: int = AUGUST,
) -> pricing.Priced:
    return price_call(
        usage, reported_cost, model=model, provider=None, framework=framework, ts_ms=ts_ms
    )


def test_a_known_model_is_estimated_from_the_bundled_prices() -> None:
    result = priced({"input_tokens": 1000, "output_tokens": 100}, "claude-sonnet-4-6")
    assert result.source == "estimated"
    assert result.cost_usd == pytest.approx(0.0045)


def test_cache_tokens_are_added_to_the_input_genai_prices_expects() -> None:
    # agentmon's input excludes the cache: 100k fresh + 800k read + 100k written = 1M input
    usage = {
        "input_tokens": 100_000,
        "cache_read_tokens": 800_000,
        "cache_write_tokens": 100_000,
        "output_tokens": 100_000,
    }
    assert priced(usage, "claude-sonnet-4-6").cost_usd == pytest.approx(0.915 + 1.50)


def test_the_price_of_the_calls_day_is_used() -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    assert priced(usage, "claude-sonnet-4-6", ts_ms=FEBRUARY).cost_usd == pytest.approx(6.0)
    assert priced(usage, "claude-sonnet-4-6", ts_ms=AUGUST).cost_usd == pytest.approx(3.0)


def test_a_call_past_a_tier_pays_the_tier_price_for_all_its_tokens() -> None:
    small = {"input_tokens": 1000, "output_tokens": 100}
    assert priced(small, "gpt-5.4", framework="codex").cost_usd == pytest.approx(0.0040)
    # genai-prices' figures: 1M input (500k cached) and 100k out is the >272k tier: $5.00
    large = {"input_tokens": 500_000, "cache_read_tokens": 500_000, "output_tokens": 100_000}
    assert priced(large, "gpt-5.4", framework="codex").cost_usd == pytest.approx(5.0)
    assert priced(small, "gpt-5.4", framework="codex").cost_usd == pytest.approx(0.0040)
    tiered = {"input_tokens": 300_000, "output_tokens": 1000}
    assert priced(tiered, "gemini-2.5-pro", framework="gemini-cli").cost_usd == pytest.approx(0.765)


def test_a_reported_cost_wins_even_when_zero() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    assert priced(usage, "claude-sonnet-4-6", reported_cost=0.25) == pricing.Priced(
        0.25, "reported"
    )
    assert priced(usage, "claude-sonnet-4-6", reported_cost=0.0).source == "reported"


def test_an_unknown_model_is_not_priced_rather_than_free() -> None:
    result = priced({"input_tokens": 1000, "output_tokens": 100}, "house-model-7")
    assert result == pricing.Priced(None, "none")
    assert priced({"input_tokens": 5}, "", framework="hermes").cost_usd is None


def test_the_framework_hint_does_not_hide_a_model_of_another_provider() -> None:
    # a Claude Code event naming an OpenAI model is still priced (the hint is only a hint)
    result = priced({"input_tokens": 1000, "output_tokens": 100}, "gpt-5.4")
    assert result.cost_usd == pytest.approx(0.0040)


def test_a_routed_model_id_is_priced_at_the_vendors_price() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    routed = priced(usage, "anthropic/claude-sonnet-4.6", framework="hermes")
    assert routed.cost_usd == pytest.approx(0.0045)


def test_the_users_price_file_adds_and_overrides_models(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[models."house-model-7"]\ninput = 2.0\noutput = 10.0\ncache_read = 0.5\n'
        '[models."claude-sonnet-4-6"]\ninput = 1.0\noutput = 1.0\n'
    )
    pricing.use_price_file(prices)
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000, "cache_read_tokens": 1_000_000}
    assert priced(usage, "House-Model-7").cost_usd == pytest.approx(2.0 + 1.0 + 0.5)
    # cache prices default to the input price
    assert priced(usage, "claude-sonnet-4-6").cost_usd == pytest.approx(1.0 + 0.1 + 1.0)


def test_a_json_price_file_works_too(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"models": {"house-model-7": {"input": 1, "output": 2}}}')
    pricing.use_price_file(prices)
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert priced(usage, "house-model-7").cost_usd == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[models."m"]\ninput = 1.0\n', "'output' (USD per million tokens) is missing"),
        ('[models."m"]\ninput = -1\noutput = 1\n', "'input' must be a number ≥ 0"),
        ('[models."m"]\ninput = 1\noutput = 1\ncached = 1\n', "unknown key(s) cached"),
        ("models = 3\n", "expected a 'models' table"),
        ("[models\n", "not valid TOML"),
    ],
)
def test_a_bad_price_file_is_refused_naming_what_is_wrong(
    tmp_path: Path, text: str, says: str
) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(text)
    with pytest.raises(PriceFileError) as refused:
        pricing.load_price_file(prices)
    assert says in str(refused.value) and str(prices) in str(refused.value)


def test_the_setting_refuses_a_bad_or_missing_price_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[models\n")
    for path in (bad, tmp_path / "missing.toml"):
        with pytest.raises(SettingError, match="AGENTMON_PRICES="):
            parse_setting("prices_file", str(path))
    good = tmp_path / "good.toml"
    good.write_text('[models."m"]\ninput = 1\noutput = 1\n')
    assert parse_setting("prices_file", str(good)) == good


def test_cost_source_names_one_kind_or_mixed() -> None:
    assert pricing.cost_source(0, 0, 0) is None
    assert pricing.cost_source(2, 0, 0) == "reported"
    assert pricing.cost_source(0, 3, 0) == "estimated"
    assert pricing.cost_source(0, 0, 1) == "none"
    assert pricing.cost_source(1, 1, 0) == "mixed"
    assert pricing.cost_source(0, 1, 1) == "mixed"
