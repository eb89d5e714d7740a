"""The roster and the errors view in a real browser (Debian's Chromium) over the seed data:
a waiting agent first with its question and its swimlane, a failed one, VM pills, error
groups with their occurrences linking to the session."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect
from web_seed import Seed
from web_support import screenshot


def test_the_roster_shows_who_waits_and_what_they_ask(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/agents")
    cards = page.locator(".roster .agent-card")
    expect(cards.first).to_be_visible()
    waiting = page.locator(".agent-card", has_text="ci-runner")
    expect(waiting.locator(".badge")).to_have_text("waiting for you")
    expect(waiting.locator(".agent-question")).to_contain_text("Allow `rm -rf build/`?")
    expect(waiting.locator(".agent-question")).to_contain_text("permission prompt")
    expect(waiting.locator(".agent-task")).to_have_text("Migrate to uv")
    # whoever needs a person comes first: no card before a waiting one is in another state
    states = cards.evaluate_all("cards => cards.map(c => c.className.match(/state-(\\w+)/)[1])")
    assert "waiting" in states
    assert states[: states.count("waiting")] == ["waiting"] * states.count("waiting")
    failed = page.locator(".agent-card", has_text="desktop")
    expect(failed.locator(".badge")).to_have_text("failed")
    expect(failed).to_contain_text("1 error")
    # its swimlane: the run it works in, then the wait for an answer, up to now
    lane = waiting.locator(".swimlane")
    expect(lane.locator(".lane-waiting")).to_have_count(1)
    expect(lane.locator(".lane-working")).to_have_count(1)
    expect(waiting.locator(".lane-summary")).to_contain_text("last 6 h: waited")
    screenshot(page, "roster")
    page.locator(".chip.state-waiting").click()
    expect(page).to_have_url(re.compile(r"/agents\?state=waiting$"))
    expect(page.locator(".agent-card:not(.state-waiting)")).to_have_count(0)
    waiting.locator(".agent-task").click()
    expect(page).to_have_url(re.compile(rf"/sessions/{seeded.sid('bravo')}$"))


def test_errors_are_grouped_with_their_occurrences(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/errors")
    group = page.locator(".error-group", has_text="<n> Too Many Requests")
    expect(group.first).to_be_visible()
    expect(group.first.locator(".sparkline")).to_be_visible()
    group.first.get_by_role("button", name="Show occurrences").click()
    occurrence = group.first.locator(".error-occurrences li").first
    expect(occurrence).to_contain_text("429 Too Many Requests")
    screenshot(page, "errors")
    occurrence.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/sessions/[^/]+-charlie$"))


def test_an_agents_vm_pill_opens_that_vms_card(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    """On a phone-sized screen, where the VM cards stack, the pill leads to its own card:
    scrolled into view and marked, the other cards not."""
    page.set_viewport_size({"width": 390, "height": 600})
    page.goto(embedded_server.ui_url + "/agents")
    pill = page.locator(".vm-pill", has_text=seeded.vm_bad)
    expect(pill.first).to_have_attribute("href", f"/openclaw?vm={seeded.vm_bad}")
    pill.first.click()
    expect(page).to_have_url(re.compile(rf"/openclaw\?vm={seeded.vm_bad}$"))
    card = page.locator(f"#vm-{seeded.vm_bad}")
    expect(card).to_have_class(re.compile(r"\bchosen\b"))
    expect(card).to_have_attribute("aria-current", "true")
    expect(card).to_be_in_viewport()
    expect(page.locator(".vm-card.chosen")).to_have_count(1)
    expect(page.locator(f"#vm-{seeded.vm_ok}")).not_to_have_class(re.compile(r"\bchosen\b"))
    # the cards come by name, so this one is below another, out of the first screenful
    ids = page.locator(".vm-card").evaluate_all("cards => cards.map(c => c.id)")
    assert ids.index(f"vm-{seeded.vm_ok}") < ids.index(f"vm-{seeded.vm_bad}")
    assert page.evaluate("window.scrollY") > 0
    screenshot(page, "roster-vm-card")
