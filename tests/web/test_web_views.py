"""Each view of the web UI in headless Chromium over seeded data on the real embedded server:
it loads without console errors, shows what it should, and keeps its state in the URL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from web_seed import Seed
from web_support import post_events, screenshot

from agentmon.events import EventType, new_event, to_dict

pytestmark = pytest.mark.browser

CANVAS_HAS_PIXELS = """() => {
  const canvas = document.querySelector('.chart canvas');
  if (!canvas || !canvas.width || !canvas.height) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}"""


def test_dashboard(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + "/")
    attention = page.locator("section.attention")
    expect(attention.get_by_text("Migrate the build to uv")).to_be_visible()
    expect(attention.locator(".attention-card.status-waiting").first).to_contain_text(
        "waiting for a human"
    )
    expect(attention.get_by_text("Summarise the incident report")).to_be_visible()
    # The attention strip comes before everything else in the view.
    first = page.locator(".view.dashboard > *").first
    expect(first).to_have_class(re.compile(r"\battention\b"))

    expect(page.locator(".stat-card", has_text="Active now")).to_be_visible()
    expect(page.locator(".stat-card", has_text="Tokens")).to_be_visible()
    expect(page.locator("section.today h2")).to_contain_text("Today (UTC)")
    page.wait_for_function(CANVAS_HAS_PIXELS)
    expect(page.locator(".bars")).to_contain_text("codex")
    expect(page.locator(".bars")).to_contain_text("claude-code")
    expect(page.locator("table", has_text="tool").get_by_text("Bash", exact=True)).to_be_visible()
    expect(page.locator(".vm-strip .vm-pill", has_text=seeded.vm_bad)).to_have_class(
        re.compile(r"level-bad")
    )
    expect(page.locator(".vm-strip .vm-pill", has_text=seeded.vm_ok)).to_have_class(
        re.compile(r"level-ok")
    )
    expect(page.locator(".feed .feed-row").first).to_be_visible()
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page).to_have_title(re.compile(r"^\(\d+ waiting\) Dashboard · agentmon$"))
    screenshot(page, "dashboard")

    chart_window = page.get_by_role("group", name="Time window")
    chart_window.get_by_role("button", name="1h", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?range=1h$"))
    expect(chart_window.get_by_role("button", name="1h", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator(".activity")).to_contain_text("One point per 1 min.")
    page.wait_for_function(CANVAS_HAS_PIXELS)

    page.get_by_role("button", name="Tokens & cost").click()
    expect(page).to_have_url(re.compile(r"\?range=1h&chart=usage$"))
    legend = page.locator(".activity .u-legend")
    expect(legend).to_contain_text("tokens")
    expect(legend).to_contain_text("cost")
    expect(legend).not_to_contain_text("tool calls")
    page.wait_for_function(CANVAS_HAS_PIXELS)
    screenshot(page, "dashboard-usage")


def test_sessions_filters_live_in_the_url(page: Page, embedded_server: Any, seeded: Seed) -> None:
    # Bounded by the seed's time, so sessions other tests create later do not push it away.
    page.goto(f"{embedded_server.ui_url}/sessions?to={seeded.until}")
    rows = page.locator("tbody tr")
    alpha = rows.filter(has_text=seeded.main_session)
    bravo = rows.filter(has_text=seeded.sid("bravo"))
    expect(alpha).to_have_count(1)
    expect(bravo).to_have_count(1)
    expect(bravo.locator(".badge")).to_have_text("waiting for a human")
    expect(rows.filter(has_text=seeded.sid("charlie")).locator(".badge")).to_have_text("failed")
    expect(page.locator("input[name=to]")).not_to_have_value("")
    screenshot(page, "sessions")

    page.select_option("select[name=framework]", "codex")
    expect(page).to_have_url(re.compile(r"/sessions\?to=[^&]+&framework=codex$"))
    expect(alpha).to_have_count(0)
    expect(bravo).to_have_count(1)

    page.select_option("select[name=status]", "waiting")
    expect(page).to_have_url(re.compile(r"framework=codex&status=waiting$"))
    expect(bravo).to_have_count(1)

    page.select_option("select[name=status]", "ended")
    expect(bravo).to_have_count(0)

    page.go_back()
    expect(page).to_have_url(re.compile(r"framework=codex&status=waiting$"))
    expect(page.locator("select[name=status]")).to_have_value("waiting")
    expect(bravo).to_have_count(1)

    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    expect(page.locator("input[name=to]")).to_have_value("")
    expect(page.locator("select[name=framework]")).to_have_value("")
    expect(rows.first).to_be_visible()

    page.fill("input[name=from]", "2099-01-01T00:00")
    page.locator("input[name=from]").dispatch_event("change")
    expect(page).to_have_url(re.compile(r"from=2099-01-01T"))
    expect(page.get_by_text("No session matches these filters.")).to_be_visible()

    # The filtered page survives a reload (the filter is in the URL, not in memory).
    page.goto(embedded_server.ui_url + "/sessions?host=ci-runner")
    expect(page.locator("select[name=host]")).to_have_value("ci-runner")
    expect(bravo).to_have_count(1)
    expect(alpha).to_have_count(0)

    # Every view links to the sessions waiting for a human from its header.
    page.locator(".topbar .waiting-pill").click()
    expect(page).to_have_url(re.compile(r"/sessions\?status=waiting$"))
    expect(bravo).to_have_count(1)
    page.goto(embedded_server.ui_url + "/sessions?host=ci-runner")

    bravo.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/sessions/{seeded.sid('bravo')}$"))
    expect(page.locator(".callout.warn")).to_contain_text("waiting for a human (permission prompt)")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/sessions\?host=ci-runner$"))
    page.go_forward()
    expect(page.locator("h1")).to_contain_text("Migrate the build to uv")


def test_dark_theme(dark_page: Page, embedded_server: Any, seeded: Seed) -> None:
    page = dark_page
    background = "() => getComputedStyle(document.body).backgroundColor"
    for path, name, ready in (
        ("/", "dashboard", "section.attention"),
        ("/sessions", "sessions", "tbody tr"),
        (f"/sessions/{seeded.main_session}?run={seeded.main_run}", "session", ".waterfall"),
        ("/agents", "agents", ".roster"),
        ("/openclaw", "openclaw", "article.vm-card"),
    ):
        page.goto(embedded_server.ui_url + path)
        expect(page.locator(ready).first).to_be_visible()
        assert page.evaluate(background) == "rgb(15, 18, 22)"
        if name == "dashboard":
            page.wait_for_function(CANVAS_HAS_PIXELS)
        screenshot(page, f"{name}-dark")


def test_sessions_load_more_follows_the_cursor(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    host = f"pager-{seeded.tag}"
    post_events(
        embedded_server,
        [
            to_dict(
                new_event(
                    EventType.SESSION_START,
                    framework="hermes",
                    host=host,
                    session_id=f"{host}-{i:02d}",
                    payload={"title": f"paged session {i:02d}"},
                )
            )
            for i in range(57)
        ],
    )
    page.goto(f"{embedded_server.ui_url}/sessions?host={host}")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_text("50 of 57 sessions shown")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(57)
    expect(page.get_by_text("That is all.")).to_be_visible()
    ids = [text.split()[-1] for text in rows.locator(".session-cell .mono").all_text_contents()]
    assert sorted(ids) == [f"{host}-{i:02d}" for i in range(57)]


def test_the_filtered_sessions_list_downloads_as_csv(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/sessions?host=ci-runner")
    link = page.get_by_role("link", name="CSV")
    expect(link).to_have_attribute("href", re.compile(r"/v1/sessions/export\?.*host=ci-runner"))
    with page.expect_download() as download:
        link.click()
    text = Path(download.value.path()).read_text()
    header, *rows = text.strip().splitlines()
    assert "session_id" in header
    assert rows and all("ci-runner" in row for row in rows)


def test_the_status_picker_offers_every_session_state(page: Page, embedded_server: Any) -> None:
    page.goto(embedded_server.ui_url + "/sessions?status=stuck")
    picker = page.locator("select[name=status]")
    expect(picker).to_have_value("stuck")
    values = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
    for state in ("active", "waiting", "stuck", "looping", "lost", "error", "idle", "ended"):
        assert state in values


def test_a_dashboard_vm_pill_opens_that_vms_card(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    """The dashboard's VM strip links each pill to its own card, as the roster does."""
    page.goto(embedded_server.ui_url + "/")
    pill = page.locator(".vm-strip .vm-pill", has_text=seeded.vm_bad)
    expect(pill).to_have_attribute("href", f"/openclaw?vm={seeded.vm_bad}")
    pill.click()
    expect(page).to_have_url(re.compile(rf"/openclaw\?vm={seeded.vm_bad}$"))
    expect(page.locator(f"#vm-{seeded.vm_bad}")).to_have_class(re.compile(r"\bchosen\b"))
    expect(page.locator(".vm-card.chosen")).to_have_count(1)
