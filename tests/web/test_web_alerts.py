"""The Alerts page in a real browser: a failed run raises an alert the server records (no
webhook set), the page lists it with its session link and delivery, and an acknowledgement is
stored for everyone and filtered on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from test_web_attention import failing_run
from web_support import post_events

pytestmark = pytest.mark.browser


def test_a_failed_run_is_listed_and_acknowledged(page: Page, embedded_server: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    session, host = f"alerting-{tag}", f"builder-{tag}"
    post_events(embedded_server, failing_run(session, host, f"{session}-r1"))
    page.goto(embedded_server.ui_url + "/alerts")
    expect(page.get_by_role("link", name="Alerts")).to_have_attribute("aria-current", "page")
    item = page.locator(".alert-item", has_text=f"session {session}")
    expect(item.locator(".alert-kind")).to_have_text("run failed")
    expect(item.locator(".alert-message")).to_contain_text("a run failed: exit status 1")
    expect(item.locator(".alert-delivery")).to_have_text("no webhook set")
    item.get_by_role("link", name=f"session {session}").click()
    expect(page).to_have_url(embedded_server.ui_url + f"/sessions/{session}")
    page.go_back()
    item = page.locator(".alert-item", has_text=f"session {session}")
    item.get_by_role("button", name="Acknowledge").click()
    expect(item).to_contain_text("acknowledged by anonymous")
    page.locator("label", has_text="show").locator("select").select_option("true")
    expect(page).to_have_url(embedded_server.ui_url + "/alerts?acknowledged=true")
    expect(page.locator(".alert-item", has_text=f"session {session}")).to_be_visible()
    page.locator("label", has_text="show").locator("select").select_option("false")
    expect(page).to_have_url(embedded_server.ui_url + "/alerts?acknowledged=false")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".alert-item", has_text=f"session {session}")).to_have_count(0)
    page.locator("label", has_text="kind").locator("select").select_option("vm_memory")
    expect(page.get_by_text("No alert matches these filters.")).to_be_visible()
