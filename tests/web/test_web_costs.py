"""Costs in the UI: an estimate is marked as one, a model without a price reads "not priced"
with its tokens, never "$0"."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from test_web_screens import PHONE, WIDE, assert_fits
from tests.conftest import start_embedded
from web_support import post_events, screenshot, wait_until

from agentmon.events import new_event, to_dict
from conftest import PageProblems, new_page

pytestmark = pytest.mark.browser

USAGE = {"input_tokens": 1000, "output_tokens": 100}
SONNET_ESTIMATE = "≈$0.0045 est."  # claude-sonnet-4-6 at $3 / $15 per million tokens


def store_session(
    server: Any,
    framework: str,
    model: str,
    at: datetime | None = None,
    reported_cost: float | None = None,
) -> str:
    """A session with one model call, `at` a time (default now), its cost reported by the
    agent (`reported_cost`) or else estimated from the price of `model`."""
    session_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    common: dict[str, Any] = {"framework": framework, "host": "pricebox", "session_id": session_id}
    if at is not None:
        common["ts"] = at
    reported = {} if reported_cost is None else {"cost_usd": reported_cost}
    llm = {"kind": "llm", "name": model, "model": model}
    events = [
        new_event("session.start", payload={"title": f"{model} at work"}, **common),
        new_event("run.start", run_id=run_id, payload={"input": "price me"}, **common),
        new_event("span.start", run_id=run_id, span_id=f"{run_id}-llm", payload=llm, **common),
        new_event(
            "span.end",
            run_id=run_id,
            span_id=f"{run_id}-llm",
            payload={**llm, "status": "ok", "usage": USAGE, "duration_ms": 900},
            **common,
        ),
        new_event(
            "metric.snapshot",
            run_id=run_id,
            payload={"model": model, "usage": USAGE, **reported},
            **common,
        ),
        new_event("run.end", run_id=run_id, payload={"status": "ok"}, **common),
    ]
    post_events(server, [to_dict(e) for e in events])

    def stored() -> bool:
        response = httpx.get(f"{server.query_url}/v1/sessions/{session_id}")
        return response.status_code == 200 and response.json()["runs"][0]["status"] == "ok"

    wait_until(stored, f"the {model} session")
    return session_id


def test_an_estimated_cost_is_marked_on_session_run_and_model_call(
    page: Page, embedded_server: Any
) -> None:
    framework = f"priced-{uuid.uuid4().hex[:6]}"
    session_id = store_session(embedded_server, framework, "claude-sonnet-4-6")

    page.goto(f"{embedded_server.ui_url}/sessions?framework={framework}")
    expect(page.locator("td[data-label=cost]")).to_have_text(SONNET_ESTIMATE)

    page.goto(f"{embedded_server.ui_url}/sessions/{session_id}")
    cost = page.locator(".session-head .facts div", has_text="Cost")
    expect(cost).to_contain_text(SONNET_ESTIMATE)
    expect(cost.locator(".cost")).to_have_attribute("title", re.compile("estimated"))
    run = page.locator(".run-list > li").first
    expect(run.locator(".run-meta")).to_contain_text(SONNET_ESTIMATE)

    expect(run.get_by_role("button").first).to_have_attribute("aria-expanded", "true")  # alone
    llm_row = page.locator(".waterfall .wf-row", has_text="claude-sonnet-4-6")
    expect(llm_row).to_contain_text(SONNET_ESTIMATE)
    llm_row.click()
    expect(page.locator(".span-detail")).to_contain_text(SONNET_ESTIMATE)


def test_a_model_without_a_price_is_not_priced_rather_than_free(
    page: Page, embedded_server: Any
) -> None:
    framework = f"unpriced-{uuid.uuid4().hex[:6]}"
    session_id = store_session(embedded_server, framework, "house-model-7")

    page.goto(f"{embedded_server.ui_url}/sessions?framework={framework}")
    expect(page.locator("td[data-label=cost]")).to_have_text("not priced")
    expect(page.locator("td[data-label=tokens]")).to_have_text("1.1K")

    page.goto(f"{embedded_server.ui_url}/sessions/{session_id}")
    cost = page.locator(".session-head .facts div", has_text="Cost")
    expect(cost).to_contain_text("not priced (1.1K tokens)")
    expect(page.locator(".session-head")).not_to_contain_text("$0")
    expect(page.locator(".run-list > li").first.locator(".run-meta")).to_contain_text("not priced")


def test_cost_formatting(page: Page, embedded_server: Any) -> None:
    page.goto(embedded_server.ui_url + "/")
    expect(page.locator(".live-indicator")).to_be_visible()
    shown = page.evaluate(
        """async () => {
          const f = await import("/static/js/format.js");
          return [[0.42, "reported"], [0.42, "estimated"], [1.5, "mixed"], [null, "none"],
                  [null, "mixed"], [null, null], [0, "reported"]]
            .map(([usd, source]) => f.formatCostOf(usd, source));
        }"""
    )
    assert shown == [
        "$0.42",
        "≈$0.42 est.",
        "≈$1.50 part est.",
        "not priced",
        "not priced",
        "—",
        "$0",
    ]


def test_the_costs_view_breaks_spend_down_and_never_shows_unpriced_as_free(
    page: Page, embedded_server: Any
) -> None:
    framework = f"costs-{uuid.uuid4().hex[:6]}"
    store_session(embedded_server, framework, "claude-sonnet-4-6")
    store_session(embedded_server, framework, "house-model-7")

    page.goto(f"{embedded_server.ui_url}/costs?range=24h")
    expect(page.locator(".segmented button.active")).to_have_text("24h")
    by_model = page.get_by_role("region", name="By model")
    unpriced = by_model.locator("tr", has_text="house-model-7")
    expect(unpriced).to_contain_text("not priced")
    expect(unpriced).not_to_contain_text("$0")
    expect(by_model.locator("tr", has_text="claude-sonnet-4-6")).to_contain_text("est.")

    by_framework = page.get_by_role("region", name="By framework")
    row = by_framework.locator("tr", has_text=framework)
    expect(row).to_contain_text("2")  # two calls
    expect(row.locator(".cost")).to_have_text("≈$0.0045 part est.")
    expect(page.locator("svg[aria-label=Cost] rect.bar-unpriced").first).to_be_attached()

    page.get_by_role("region", name="By agent").get_by_role(
        "link", name=f"{framework}/pricebox"
    ).click()
    expect(page).to_have_url(re.compile(f"/sessions\\?framework={framework}&host=pricebox"))
    expect(page.locator("td[data-label=cost]")).to_have_count(2)

    page.goto(f"{embedded_server.ui_url}/costs?range=24h")
    top = page.get_by_role("region", name="The sessions that cost the most").get_by_role("link")
    href = top.first.get_attribute("href")
    top.first.click()
    expect(page).to_have_url(re.compile(f"{href}$"))
    expect(page.locator(".session-head")).to_be_visible()


def test_the_costs_view_of_an_empty_range_says_so(page: Page, embedded_server: Any) -> None:
    page.goto(
        f"{embedded_server.ui_url}/costs?from=2001-01-01T00:00:00.000Z&to=2001-01-02T00:00:00.000Z"
    )
    expect(page.locator(".note.empty")).to_contain_text("No model calls between")
    expect(page.locator(".segmented button.active")).to_have_count(0)


def test_a_budget_shows_its_spend_and_where_it_is_heading(page: Page, embedded_server: Any) -> None:
    framework = f"budgeted-{uuid.uuid4().hex[:6]}"
    store_session(embedded_server, framework, "claude-sonnet-4-6")
    budget = {"scope": "framework", "target": framework, "period": "day", "limit_usd": 0.001}
    response = httpx.put(f"{embedded_server.query_url}/v1/budgets", json=budget)
    assert response.status_code == 200, response.text
    try:
        page.goto(f"{embedded_server.ui_url}/costs")
        row = page.locator(f'[data-budget="framework:day:{framework}"]')
        expect(row).to_contain_text("≈$0.0045 of $0.0010 today")
        expect(row).to_contain_text("over budget")
        expect(row.get_by_role("meter")).to_be_visible()
    finally:
        params = {"scope": "framework", "target": framework, "period": "day"}
        httpx.delete(f"{embedded_server.query_url}/v1/budgets", params=params)


@pytest.mark.parametrize(
    ("usage", "shown"),
    [
        (  # Anthropic's keys, as Claude Code's transcript has them
            {
                "input_tokens": 12,
                "output_tokens": 345,
                "cache_read_input_tokens": 20480,
                "cache_creation_input_tokens": 1500,
            },
            {
                "Tokens": "357 (12 in, 345 out)",
                "Cache read tokens": "20,480",
                "Cache write tokens": "1,500",
            },
        ),
        (  # OpenAI's chat keys
            {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980},
            {"Tokens": "980 (900 in, 80 out)"},
        ),
        (  # Gemini's usageMetadata keys
            {"promptTokenCount": 700, "candidatesTokenCount": 60, "cachedContentTokenCount": 512},
            {"Tokens": "760 (700 in, 60 out)", "Cache read tokens": "512"},
        ),
    ],
)
def test_an_llm_span_detail_shows_its_usage_whatever_keys_the_tool_used(
    page: Page, embedded_server: Any, usage: dict[str, int], shown: dict[str, str]
) -> None:
    session_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    common: dict[str, Any] = {
        "framework": "claude-code",
        "host": "spanbox",
        "session_id": session_id,
    }
    llm = {"kind": "llm", "name": "claude-sonnet-4-6", "model": "claude-sonnet-4-6"}
    post_events(
        embedded_server,
        [
            to_dict(e)
            for e in [
                new_event("session.start", payload={"title": "usage keys"}, **common),
                new_event("run.start", run_id=run_id, payload={"input": "go"}, **common),
                new_event(
                    "span.end",
                    run_id=run_id,
                    span_id=f"{run_id}-llm",
                    payload={**llm, "status": "ok", "usage": usage, "duration_ms": 700},
                    **common,
                ),
                new_event("run.end", run_id=run_id, payload={"status": "ok"}, **common),
            ]
        ],
    )
    wait_until(
        lambda: httpx.get(f"{embedded_server.query_url}/v1/runs/{run_id}").status_code == 200,
        "the run",
    )
    page.goto(f"{embedded_server.ui_url}/sessions/{session_id}")
    head = page.locator(".run-list > li").first.get_by_role("button").first
    expect(head).to_have_attribute("aria-expanded", "true")  # the session's one run
    page.locator(".waterfall .wf-row", has_text="claude-sonnet-4-6").click()
    detail = page.locator(".span-detail")
    expect(detail.locator("div", has=page.locator("dt", has_text="Model"))).to_contain_text(
        "claude-sonnet-4-6"
    )
    for name, value in shown.items():
        fact = detail.locator(".facts > div", has=page.get_by_text(name, exact=True))
        expect(fact.locator("dd")).to_have_text(value)
    expect(detail).not_to_contain_text("null")  # no prompt or reply recorded: said so
    expect(detail).to_contain_text("not recorded")


def test_one_model_named_two_ways_is_one_row_and_the_tokens_total_says_what_it_sums(
    page: Page, embedded_server: Any
) -> None:
    framework = f"costs-{uuid.uuid4().hex[:6]}"
    # the name most calls used leads the row: two calls, so it does whatever ran before
    main_name = store_session(embedded_server, framework, "claude-sonnet-4-6")
    store_session(embedded_server, framework, "claude-sonnet-4-6")
    other_name = store_session(embedded_server, framework, "anthropic/claude-sonnet-4.6")

    page.goto(f"{embedded_server.ui_url}/costs?range=24h")
    by_model = page.get_by_role("region", name="By model")
    expect(by_model.locator("tr", has_text="anthropic/claude-sonnet-4.6")).to_have_count(1)
    expect(by_model.locator("tr", has_text="claude-sonnet-4-6")).to_contain_text(
        "also named anthropic/claude-sonnet-4.6"
    )
    # the row's link lists the sessions of every name of the model
    link = by_model.get_by_role("link", name="claude-sonnet-4-6", exact=True)
    link.click()
    expect(page).to_have_url(
        re.compile(r"model=claude-sonnet-4-6&model=anthropic%2Fclaude-sonnet-4\.6")
    )
    chip = page.locator(".filter-chip", has_text="Model")
    expect(chip).to_contain_text("claude-sonnet-4-6 or anthropic/claude-sonnet-4.6")
    for session_id in (main_name, other_name):
        expect(page.locator("tbody tr", has_text=session_id)).to_have_count(1)

    page.goto(f"{embedded_server.ui_url}/costs?range=24h")
    tokens = page.locator(".stat-card", has_text="Tokens")
    expect(tokens.locator(".stat-label")).to_have_text("Tokens in + out")


def test_a_day_with_reported_and_estimated_cost_is_striped_as_both(
    page: Page, embedded_server: Any
) -> None:
    """A bucket's cost is one sum: a day with both kinds of call is one bar in the stripes of
    both colours (the legend says so), not coloured wholly as estimated."""
    framework = f"mixed-{uuid.uuid4().hex[:6]}"
    day = datetime(2021, 6, 1, 12, tzinfo=UTC)
    store_session(embedded_server, framework, "house-model-7", day, reported_cost=0.5)
    store_session(embedded_server, framework, "claude-sonnet-4-6", day + timedelta(days=1))
    store_session(embedded_server, framework, "house-model-7", day + timedelta(2), 0.5)
    store_session(embedded_server, framework, "claude-sonnet-4-6", day + timedelta(days=2))
    # reported beside calls no price covers ("mixed" too, but nothing estimated)
    store_session(embedded_server, framework, "house-model-7", day + timedelta(3), 0.5)
    store_session(embedded_server, framework, "house-model-8", day + timedelta(days=3))

    page.goto(
        f"{embedded_server.ui_url}/costs?from=2021-06-01T00:00:00.000Z&to=2021-06-06T00:00:00.000Z"
    )
    chart = page.locator("figure.cost-chart", has=page.locator("svg[aria-label=Cost]"))
    days = chart.locator("svg > g")
    expect(days).to_have_count(5)
    bars = ["bar-reported", "bar-estimated", "bar-mixed", "bar-reported"]
    for index, kind in enumerate(bars):
        expect(days.nth(index).locator("rect:not(.cost-hit, .bar-unpriced)")).to_have_class(kind)
    expect(days.nth(2).locator("title")).to_contain_text("part reported, part estimated")
    expect(days.nth(3).locator("rect.bar-unpriced")).to_have_count(1)
    expect(days.nth(3).locator("title")).not_to_contain_text("≈")
    expect(days.nth(4).locator("rect:not(.cost-hit)")).to_have_count(0)
    fill = days.nth(2).locator("rect.bar-mixed").evaluate("(bar) => getComputedStyle(bar).fill")
    assert "cost-mixed-stripes" in fill
    expect(chart.locator(".cost-legend")).to_contain_text("reported + estimated")
    expect(chart.locator(".cost-legend .swatch.bar-mixed")).to_be_visible()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`agentmon serve --demo`: a day of demo traffic."""
    server = start_embedded(tmp_path_factory.mktemp("demo") / "data", extra=["--demo"])
    try:

        def priced() -> bool:
            costs = httpx.get(f"{server.query_url}/v1/costs?range=7d").json()
            return bool(costs["total"]["calls"])

        wait_until(priced, "the demo's model calls", timeout=60)
        yield server
    finally:
        server.stop()


def test_the_costs_view_on_every_screen(
    browser: Browser,
    problems: PageProblems,
    embedded_server: Any,
    seeded: Any,
    demo_server: Any,
    empty_server: Any,
) -> None:
    """The costs view fits phones and wide screens in both schemes; screenshots of the seed
    (today: reported and estimated), the demo and an empty store for a person to look at."""
    stores = [("seed", embedded_server), ("demo", demo_server), ("empty", empty_server)]
    for viewport, width in ((WIDE, "1440"), (PHONE, "390")):
        for scheme in ("light", "dark"):
            page = new_page(browser, problems, scheme, viewport)
            try:
                for name, server in stores:
                    page.goto(f"{server.ui_url}/costs?range=7d")
                    ready = ".note.empty" if name == "empty" else "svg[aria-label=Cost]"
                    expect(page.locator(ready)).to_be_visible()
                    page.wait_for_load_state("networkidle")
                    assert_fits(page, f"costs of the {name} store at {width} px ({scheme})")
                    suffix = "" if scheme == "light" else "-dark"
                    screenshot(page, f"costs-{name}-{width}{suffix}")
            finally:
                page.context.close()
    problems.check()
