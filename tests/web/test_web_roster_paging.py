"""The roster's paging in a real browser (Debian's Chromium), on a server of its own seeded
with more agents than a page: the first hundred cards, "Show more" (by keyboard) for the
rest, and a live refresh that keeps them all shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.conftest import start_embedded
from web_support import SCREENSHOTS, post_events, screenshot, wait_until

from agentmon.events import EventType, new_event, to_dict

AGENTS = 130
PAGE = 100
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def agent_events(i: int, now: datetime) -> list[dict[str, Any]]:
    """Agent i: a run with one tool call; every fifth waits for an answer."""
    host, session, run = f"fleet-{i:03}", f"fleet-s{i}", f"fleet-r{i}"
    where: dict[str, Any] = {
        "framework": "claude-code",
        "client_id": host,
        "host": host,
        "session_id": session,
    }
    start = now - timedelta(seconds=300 - i)
    events = [
        new_event(
            EventType.RUN_START, run_id=run, payload={"input": f"task {i}"}, ts=start, **where
        ),
        new_event(
            EventType.SPAN_END,
            run_id=run,
            span_id=f"{run}-t",
            payload={"kind": "tool", "name": "Bash", "status": "ok"},
            ts=start + timedelta(seconds=1),
            **where,
        ),
    ]
    if i % 5 == 0:
        ask = {"agent_state": "waiting_for_human", "message": f"Deploy {i}?"}
        later = start + timedelta(seconds=2)
        events.append(
            new_event(EventType.METRIC_SNAPSHOT, run_id=run, payload=ask, ts=later, **where)
        )
    return [to_dict(event) for event in events]


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded server of its own with `AGENTS` agents (the shared one has a few)."""
    server = start_embedded(tmp_path_factory.mktemp("fleet") / "data")
    now = datetime.now(UTC)
    post_events(server, [event for i in range(AGENTS) for event in agent_events(i, now)])

    def stored() -> bool:
        answer = httpx.get(f"{server.query_url}/v1/agents", params={"limit": 1}).json()
        return bool(answer["total"] == AGENTS)

    wait_until(stored, f"{AGENTS} agents in the query API")
    yield server
    server.stop()


def cards(page: Page) -> Any:
    return page.locator(".roster .agent-card")


def test_the_roster_shows_a_page_and_more_on_request(page: Page, fleet_server: Any) -> None:
    page.goto(fleet_server.ui_url + "/agents")
    expect(cards(page)).to_have_count(PAGE)
    expect(page.locator("#roster-shown")).to_have_text(f"{PAGE} of {AGENTS} agents shown")
    # the pills count every agent, not only the page's
    expect(page.locator(".chip.state-waiting .num")).to_have_text(str(AGENTS // 5))
    expect(page.locator(".chip.state-working .num")).to_have_text(str(AGENTS - AGENTS // 5))
    first = cards(page).evaluate_all("cs => cs.map(c => c.dataset.agent)")
    more = page.get_by_role("button", name=f"Show {AGENTS - PAGE} more")
    more.focus()
    page.keyboard.press("Enter")
    expect(cards(page)).to_have_count(AGENTS)
    expect(more).to_have_count(0)
    every = cards(page).evaluate_all("cs => cs.map(c => c.dataset.agent)")
    assert every[:PAGE] == first
    assert sorted(every) == sorted(f"claude-code/fleet-{i:03}" for i in range(AGENTS))
    # a live refresh (a new event) keeps every agent shown
    post_events(fleet_server, agent_events(AGENTS, datetime.now(UTC)))
    expect(cards(page)).to_have_count(AGENTS + 1)
    expect(page.locator(".show-more")).to_have_count(0)


def test_one_state_pages_too(page: Page, fleet_server: Any) -> None:
    page.goto(fleet_server.ui_url + "/agents?state=working")
    expect(cards(page)).to_have_count(PAGE)
    expect(page.locator(".agent-card:not(.state-working)")).to_have_count(0)
    page.get_by_role("button", name="Show").click()
    expect(cards(page).first).to_be_visible()
    expect(page.locator(".show-more")).to_have_count(0)
    assert cards(page).count() >= AGENTS - AGENTS // 5


@pytest.mark.parametrize(
    ("scheme", "viewport", "name"),
    [
        ("light", WIDE, "roster-paged-1440"),
        ("dark", WIDE, "roster-paged-1440-dark"),
        ("light", PHONE, "roster-paged-390"),
        ("dark", PHONE, "roster-paged-390-dark"),
    ],
)
def test_the_show_more_button_fits_every_screen(
    browser: Browser, fleet_server: Any, scheme: str, viewport: dict[str, int], name: str
) -> None:
    context = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(fleet_server.ui_url + "/agents")
        button = page.locator(".show-more button")
        expect(button).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"]
        screenshot(page, name)
        button.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-button.png"))
    finally:
        context.close()
