"""Times in the viewer's time zone, and the formatting helpers the views share (run in the
browser through the app's own ES modules)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from web_seed import Seed

pytestmark = pytest.mark.browser

ZONE = "Asia/Kolkata"  # UTC+05:30: a half-hour offset shows any zone mix-up


@pytest.fixture
def kolkata_page(browser: Browser, problems: Any) -> Iterator[Page]:
    context = browser.new_context(timezone_id=ZONE, locale="en-US")
    page = context.new_page()
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    yield page
    context.close()
    problems.check()


def test_times_are_shown_in_the_viewers_time_zone(
    kolkata_page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page = kolkata_page
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.main_session}")
    started = page.locator(".facts div", has_text="Started").locator("time")
    utc = started.get_attribute("datetime")
    assert utc is not None and utc.endswith("Z")
    local = datetime.fromisoformat(utc[:-1] + "+00:00").astimezone(ZoneInfo(ZONE))
    expect(started).to_contain_text(local.strftime("%I:%M:%S %p"))
    expect(page.locator(".facts div", has_text="Started")).to_contain_text(" ago)")


def test_formatting_helpers(page: Page, embedded_server: Any) -> None:
    page.goto(embedded_server.ui_url + "/")
    expect(page.locator(".live-indicator")).to_be_visible()
    result = page.evaluate(
        """async () => {
          const f = await import("/static/js/format.js");
          return {
            durations: [850, 1234, 12400, 60000, 185000, 3600000, 7500000, 3 * 86400000]
              .map(f.formatDuration),
            ages: [2, 42, 180, 7200, 200000, -90].map(f.formatAge),
            costs: [0, 0.0042, 1.234].map(f.formatCost),
            bytes: [512, 1536, 4 * 1024 ** 3].map(f.formatBytes),
            line: f.oneLine("  a\\n\\n  b   c  ", 120),
            cut: f.oneLine("x".repeat(50), 10),
            json: f.oneLine({ a: 1 }),
            roundTrip: f.localInputToIso(f.isoToLocalInput("2026-03-13T12:34:00.000000Z")),
          };
        }"""
    )
    assert result["durations"] == [
        "850 ms",
        "1.23 s",
        "12.4 s",
        "1 min",
        "3 min 5 s",
        "1 h",
        "2 h 5 min",
        "3 d",
    ]
    assert result["ages"] == ["just now", "42 s ago", "3 min ago", "2 h ago", "2 d ago", "in 1 min"]
    assert result["costs"] == ["$0", "$0.0042", "$1.23"]
    assert result["bytes"] == ["512 B", "1.5 KiB", "4.0 GiB"]
    assert result["line"] == "a b c"
    assert result["cut"] == "x" * 9 + "…"
    assert result["json"] == '{"a":1}'
    assert result["roundTrip"] == "2026-03-13T12:34:00.000Z"
