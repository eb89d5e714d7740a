"""Costs in the UI: an estimate is marked as one, a model without a price reads "not priced"
with its tokens, never "$0"."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from web_support import post_events, wait_until

from agentmon.events import new_event, to_dict

pytestmark = pytest.mark.browser

USAGE = {"input_tokens": 1000, "output_tokens": 100}
SONNET_ESTIMATE = "≈$0.0045 est."  # claude-sonnet-4-6 at $3 / $15 per million tokens


def store_session(server: Any, framework: str, model: str) -> str:
    session_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    common: dict[str, Any] = {"framework": framework, "host": "pricebox", "session_id": session_id}
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
            "metric.snapshot", run_id=run_id, payload={"model": model, "usage": USAGE}, **common
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

    run.get_by_role("button").first.click()
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
