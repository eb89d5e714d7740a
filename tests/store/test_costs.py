"""Costs in the read models, on both stores: reported wins, else estimated, else not priced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentmon import pricing
from agentmon.events import Envelope, new_event
from agentmon.query import views
from agentmon.query.costs import Costs, costs_view
from agentmon.reprice import reprice
from agentmon.store import Store
from agentmon.store.costs import DAY_MS, HOUR_MS, cost_rows

NOW = max(
    datetime.now(UTC).replace(microsecond=0),
    datetime.now(UTC).replace(hour=0, minute=15, second=0, microsecond=0),
)
SONNET_1K_IN_100_OUT = 0.0045  # claude-sonnet-4-6: $3 / $15 per million (genai-prices data)


def ev(kind: str, t: float, session: str, **fields: Any) -> Envelope:
    fields.setdefault("framework", "claude-code")
    fields.setdefault("host", "laptop")
    return new_event(kind, session_id=session, ts=NOW - timedelta(seconds=300 - t), **fields)


def call(t: float, session: str, model: str, cost: float | None = None, **fields: Any) -> Envelope:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    payload: dict[str, Any] = {"model": model, "usage": usage}
    if cost is not None:
        payload["cost_usd"] = cost
    return ev("metric.snapshot", t, session, run_id=f"{session}-r", payload=payload, **fields)


def mixed_session() -> list[Envelope]:
    """A reported call, an estimated one, one of an unknown model, and an llm span."""
    return [
        ev("session.start", 0, "mixed", payload={"model": "claude-sonnet-4-6"}),
        ev("run.start", 1, "mixed", run_id="mixed-r", payload={"input": "go"}),
        call(2, "mixed", "claude-sonnet-4-6", cost=0.5),
        call(3, "mixed", "claude-sonnet-4-6"),
        call(4, "mixed", "house-model-7"),
        ev(
            "span.end",
            5,
            "mixed",
            run_id="mixed-r",
            span_id="llm1",
            payload={
                "kind": "llm",
                "name": "claude-sonnet-4-6",
                "model": "claude-sonnet-4-6",
                "usage": {"input_tokens": 1000, "output_tokens": 100},
                "duration_ms": 800,
            },
        ),
    ]


def unknown_session() -> list[Envelope]:
    return [
        ev("session.start", 10, "unknown", framework="hermes"),
        call(11, "unknown", "house-model-7", framework="hermes"),
    ]


async def detail(store: Store, session_id: str) -> dict[str, Any]:
    return views.session_detail(await store.get_session(session_id)).model_dump()


async def test_reported_estimated_and_unpriced_calls_each_say_so(store: Store) -> None:
    await store.write(mixed_session() + unknown_session())

    mixed = await detail(store, "mixed")
    session = mixed["session"]
    assert session["cost_source"] == "mixed"
    assert session["cost_usd"] == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    assert session["tokens"]["input"] == 3000  # the llm span's usage is not counted again
    models = {m["model"]: m for m in session["models"]}
    assert models["claude-sonnet-4-6"]["cost_source"] == "mixed"
    assert models["house-model-7"] == {
        **models["house-model-7"],
        "cost_usd": None,
        "cost_source": "none",
        "calls": 1,
    }
    assert mixed["runs"][0]["cost_source"] == "mixed"
    assert mixed["runs"][0]["cost_usd"] == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)

    span = views.run_detail(await store.get_run("mixed-r")).spans[0]
    assert (span.cost_source, span.cost_usd) == ("estimated", pytest.approx(SONNET_1K_IN_100_OUT))

    unknown = (await detail(store, "unknown"))["session"]
    assert (unknown["cost_usd"], unknown["cost_source"]) == (None, "none")
    assert unknown["tokens"]["total"] == 1100


async def test_summary_and_timeseries_say_where_the_cost_came_from(store: Store) -> None:
    await store.write(mixed_session() + unknown_session())
    now_ms = int(NOW.timestamp() * 1000)

    summary = views.summary_view(await store.summary(now_ms=now_ms))
    assert summary.cost_source == "mixed"
    assert summary.cost_usd == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    hermes = summary.by_framework["hermes"]
    assert (hermes.cost_usd, hermes.cost_source) == (None, "none")
    assert summary.by_framework["claude-code"].cost_source == "mixed"

    series = views.timeseries_view(await store.timeseries("1h", now_ms=now_ms))
    priced = [p for p in series.points if p.cost_source is not None]
    assert sum(p.cost_usd or 0 for p in priced) == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    assert {p.cost_source for p in priced} <= {"mixed", "reported", "estimated", "none"}
    assert all(p.cost_usd is None for p in series.points if p.cost_source in (None, "none"))


async def test_a_redelivered_call_is_priced_once(store: Store) -> None:
    events = [call(1, "again", "claude-sonnet-4-6"), call(2, "again", "claude-sonnet-4-6")]
    await store.write(events)
    await store.write(events)
    session = (await detail(store, "again"))["session"]
    assert session["cost_source"] == "estimated"
    assert session["cost_usd"] == pytest.approx(2 * SONNET_1K_IN_100_OUT)


async def test_reprice_estimates_stored_calls_with_new_prices(store: Store, tmp_path: Path) -> None:
    await store.write(mixed_session() + unknown_session())
    now_ms = int(NOW.timestamp() * 1000)
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."house-model-7"]\ninput = 1000\noutput = 0\n')
    pricing.use_price_file(prices)
    try:
        done = await reprice(store, since_ms=now_ms - 3_600_000)
    finally:
        pricing.use_price_file(None)
    assert done.calls == 4

    unknown = (await detail(store, "unknown"))["session"]
    assert (unknown["cost_usd"], unknown["cost_source"]) == (pytest.approx(1.0), "estimated")
    mixed = (await detail(store, "mixed"))["session"]  # the reported cost is kept
    assert mixed["cost_usd"] == pytest.approx(0.5 + SONNET_1K_IN_100_OUT + 1.0)
    assert mixed["cost_source"] == "mixed"
    models = {m["model"]: m for m in mixed["models"]}
    assert models["house-model-7"]["cost_source"] == "estimated"
    assert models["claude-sonnet-4-6"]["cost_usd"] == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    run = views.run_detail(await store.get_run("unknown-r")).run
    assert (run.cost_usd, run.cost_source) == (pytest.approx(1.0), "estimated")

    summary = views.summary_view(await store.summary(now_ms=now_ms))
    assert summary.by_framework["hermes"].cost_source == "estimated"
    assert summary.cost_usd == pytest.approx(0.5 + SONNET_1K_IN_100_OUT + 2.0)
    series = views.timeseries_view(await store.timeseries("24h", now_ms=now_ms))
    assert sum(p.cost_usd or 0 for p in series.points) == pytest.approx(summary.cost_usd)

    again = await reprice(store)  # with the bundled prices again: back to not priced
    assert again.calls == 4
    unknown = (await detail(store, "unknown"))["session"]
    assert (unknown["cost_usd"], unknown["cost_source"]) == (None, "none")


async def test_an_llm_span_keeps_the_cost_its_usage_reports(store: Store) -> None:
    def llm_end(span_id: str, usage: dict[str, Any]) -> Envelope:
        payload = {"kind": "llm", "name": "claude-opus-4", "usage": usage}
        return ev("span.end", 1, "spans", run_id="spans-r", span_id=span_id, payload=payload)

    tokens = {"input_tokens": 8000, "output_tokens": 900}
    await store.write(
        [
            llm_end("reported", {**tokens, "cost_usd": 0.19}),
            llm_end("nan", {**tokens, "cost_usd": "NaN"}),  # unchecked display field: ignored
            llm_end("no-usage", {}),
        ]
    )
    spans = {s.span_id: s for s in views.run_detail(await store.get_run("spans-r")).spans}
    assert (spans["reported"].cost_usd, spans["reported"].cost_source) == (0.19, "reported")
    assert spans["nan"].cost_source == "estimated"
    assert (spans["no-usage"].cost_usd, spans["no-usage"].cost_source) == (None, None)
    session = (await detail(store, "spans"))["session"]
    assert (session["cost_usd"], session["cost_source"]) == (None, None)  # spans are not summed


async def costs_now(store: Store, hours: int = 24) -> Costs:
    end = int(NOW.timestamp() * 1000) + 1
    return costs_view(await cost_rows(store, end - hours * HOUR_MS, end, HOUR_MS), "hour")


async def test_the_costs_view_sums_by_model_agent_project_and_framework(store: Store) -> None:
    mixed = mixed_session()
    mixed[0].payload["cwd"] = "/src/shop"
    await store.write(mixed + unknown_session())
    costs = await costs_now(store)

    assert (costs.total.calls, costs.total.sessions) == (4, 2)
    assert costs.total.cost_source == "mixed"
    assert costs.total.cost_usd == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    assert costs.total.tokens.total == 4400  # four calls; the llm span is not counted again
    assert (costs.total.reported_calls, costs.total.estimated_calls) == (1, 1)
    assert costs.total.unpriced_calls == 2

    models = {m.model: m for m in costs.by_model}
    assert (models["house-model-7"].cost_usd, models["house-model-7"].cost_source) == (None, "none")
    assert models["house-model-7"].tokens.total == 2200  # not priced, tokens still counted
    assert models["claude-sonnet-4-6"].cost_source == "mixed"
    agents = {a.agent_id: a for a in costs.by_agent}
    assert agents["claude-code/laptop"].calls == 3
    assert agents["hermes/laptop"].cost_source == "none"
    projects = {p.cwd: p for p in costs.by_project}
    assert projects["/src/shop"].cost_usd == pytest.approx(0.5 + SONNET_1K_IN_100_OUT)
    assert projects[None].cost_usd is None  # a session that named no cwd
    frameworks = [f.framework for f in costs.by_framework]
    assert frameworks == ["claude-code", "hermes"]  # most expensive first

    assert [s.session_id for s in costs.top_sessions] == ["mixed", "unknown"]
    assert costs.top_sessions[0].cwd == "/src/shop"
    assert len(costs.series) == 25  # the range starts within an hour: that hour counts
    assert costs.series[0].ts == costs.from_
    assert sum(p.calls for p in costs.series) == 4
    assert sum(p.cost_usd or 0 for p in costs.series) == pytest.approx(costs.total.cost_usd)
    empty = [p for p in costs.series if p.calls == 0]
    assert all((p.cost_usd, p.cost_source) == (None, None) for p in empty)  # never "$0"


async def test_one_model_named_two_ways_is_one_row_with_its_names(store: Store) -> None:
    """Claude Code says "claude-sonnet-4-6", Hermes (via a router) "anthropic/claude-sonnet-4.6":
    one model, one row, its sessions counted once although one session used both names."""
    await store.write(
        [
            call(1, "claude", "claude-sonnet-4-6"),
            call(2, "claude", "claude-sonnet-4-6"),
            call(3, "hermes", "anthropic/claude-sonnet-4.6", framework="hermes"),
            call(4, "both", "claude-sonnet-4-6"),
            call(5, "both", "anthropic/claude-sonnet-4.6"),
            call(6, "both", "house-model-7"),
        ]
    )
    costs = await costs_now(store)

    assert [(m.model, m.names) for m in costs.by_model] == [
        ("claude-sonnet-4-6", ["claude-sonnet-4-6", "anthropic/claude-sonnet-4.6"]),
        ("house-model-7", ["house-model-7"]),
    ]
    sonnet = costs.by_model[0]
    assert (sonnet.calls, sonnet.sessions, sonnet.tokens.total) == (5, 3, 5500)
    assert sonnet.cost_usd == pytest.approx(5 * SONNET_1K_IN_100_OUT)  # both names priced
    assert sonnet.cost_source == "estimated"


async def test_costs_count_a_redelivered_call_once_and_follow_reprice(
    store: Store, tmp_path: Path
) -> None:
    events = unknown_session()
    await store.write(events)
    await store.write(events)
    assert (await costs_now(store)).total.calls == 1

    prices = tmp_path / "prices.toml"
    prices.write_text('[models."house-model-7"]\ninput = 1000\noutput = 0\n')
    pricing.use_price_file(prices)
    try:
        await reprice(store)
    finally:
        pricing.use_price_file(None)
    total = (await costs_now(store)).total
    assert (total.cost_usd, total.cost_source) == (pytest.approx(1.0), "estimated")


async def test_costs_outside_the_range_are_left_out(store: Store) -> None:
    await store.write(unknown_session())
    end = int(NOW.timestamp() * 1000) - 2 * HOUR_MS
    rows = await cost_rows(store, end - DAY_MS, end, DAY_MS)
    costs = costs_view(rows, "day")
    assert (costs.total.calls, costs.top_sessions, costs.by_model) == (0, [], [])
    assert (costs.total.cost_usd, costs.total.cost_source) == (None, None)
