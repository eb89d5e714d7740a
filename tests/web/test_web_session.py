"""The session detail view: runs, the waterfall of a run's spans, span payloads, agent text
kept inert, deep links and keyboard use."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from web_seed import XSS_OUTPUT, Seed
from web_support import post_events, screenshot, wait_until

from agentmon.events import new_event, to_dict

pytestmark = pytest.mark.browser

NO_INJECTION = """() => ({
  xss: window.__xss === undefined ? null : window.__xss,
  images: document.querySelectorAll('img[src="x"]').length,
  scripts: [...document.scripts].filter((s) => !s.src).length,
})"""


def test_waterfall_shows_the_spans_of_a_run_in_order(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.main_session}")
    header = page.locator(".session-head")
    expect(header).to_contain_text("claude-code")
    expect(header).to_contain_text("laptop")
    expect(header).to_contain_text("13.8K (12K in, 1.8K out)")
    expect(header).to_contain_text("$0.06")
    runs = page.locator(".run-list > li")
    expect(runs).to_have_count(2)
    expect(runs.nth(1).locator(".badge")).to_have_text("running")

    runs.first.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(rf"\?run={seeded.main_run}$"))
    rows = page.locator(".waterfall .wf-row")
    expect(rows).to_have_count(4)
    expect(rows.locator(".wf-name")).to_have_text(list(Seed.MAIN_SPANS))
    expect(rows.locator(".wf-kind")).to_have_text(["tool", "llm", "tool", "tool"])
    expect(rows.nth(3)).to_have_class(re.compile(r"\bis-error\b"))
    expect(rows.nth(3).locator(".wf-status")).to_have_text("failed")
    # Bars are placed by start offset and sized by duration (3.5 s vs 0.8 s).
    boxes = [rows.nth(i).locator(".wf-bar").bounding_box() for i in range(4)]
    assert all(box is not None for box in boxes)
    lefts = [box["x"] for box in boxes if box]
    assert lefts == sorted(lefts) and len(set(lefts)) == 4
    widths = [box["width"] for box in boxes if box]
    assert widths[1] > widths[2] > widths[0] > widths[3]
    expect(page.locator(".run-io")).to_contain_text("Fix the login page; run the tests.")
    expect(page.locator(".run-io")).to_contain_text("Fixed; tests pass.")
    screenshot(page, "session")


def resumed_session(session: str) -> list[dict[str, Any]]:
    """A run of 10 s half an hour ago, and after the session ended, a resumed run of 20 s."""
    start = datetime.now(UTC) - timedelta(minutes=30)

    def event(kind: str, minutes: float, run: str | None = None) -> dict[str, Any]:
        ts = start + timedelta(minutes=minutes)
        return to_dict(
            new_event(
                kind, framework="claude-code", host="laptop", session_id=session, run_id=run, ts=ts
            )
        )

    return [
        event("session.start", 0),
        event("run.start", 0, f"{session}-r1"),
        event("run.end", 1 / 6, f"{session}-r1"),
        event("session.end", 0.5),
        event("session.start", 25),
        event("run.start", 25, f"{session}-r2"),
        event("run.end", 25 + 1 / 3, f"{session}-r2"),
        event("session.end", 26),
    ]


def post_ended(server: Any, session: str, events: list[dict[str, Any]]) -> None:
    """Post a session's events and wait until the store has it ended (its last end stored)."""
    post_events(server, events)

    def ended() -> bool:
        response = httpx.get(f"{server.query_url}/v1/sessions/{session}")
        return response.status_code == 200 and response.json()["session"]["status"] == "ended"

    wait_until(ended, f"session {session} ended")


def test_a_resumed_session_shows_its_active_time_beside_its_wall_time(
    page: Page, embedded_server: Any
) -> None:
    session = f"resumed-{uuid.uuid4().hex[:8]}"
    post_ended(embedded_server, session, resumed_session(session))
    page.goto(f"{embedded_server.ui_url}/sessions/{session}")
    expect(page.locator(".session-head")).to_contain_text("26 min (30.0 s active)")


def test_agent_text_is_shown_as_text_never_as_html(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.main_session}?run={seeded.main_run}")
    expect(page.locator(".session-head h1")).to_contain_text('<img src=x onerror="window.__xss=3">')
    page.locator(".wf-row", has_text="Bash").click()
    expect(page).to_have_url(re.compile(r"&span="))
    detail = page.locator(".span-detail")
    expect(detail.locator("h3")).to_contain_text("Bash")
    output = detail.locator(".json[aria-label='span output']")
    expect(output).to_contain_text('"stdout": "<img src=x onerror=\\"window.__xss=1;alert(1)\\">')
    expect(output).to_contain_text("<script>window.__xss=2;alert(2)</script>")
    # The long string is cut and can be expanded.
    expect(output).not_to_contain_text("x" * 600)
    output.get_by_role("button", name=re.compile(r"show all \d+ chars")).click()
    expect(output).to_contain_text(XSS_OUTPUT.replace('"', '\\"') + "x" * 600)
    expect(detail.locator(".json[aria-label='span input']")).to_contain_text('"pytest -q"')
    assert page.evaluate(NO_INJECTION) == {"xss": None, "images": 0, "scripts": 0}
    screenshot(page, "session-span")

    # The feed rows of the dashboard carry the same text: still inert.
    page.goto(embedded_server.ui_url + "/sessions")
    expect(
        page.get_by_text('<img src=x onerror="window.__xss=3"> fix the login page')
    ).to_be_visible()
    assert page.evaluate(NO_INJECTION) == {"xss": None, "images": 0, "scripts": 0}


def test_deep_link_to_a_span_survives_a_reload(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    span = f"{seeded.main_run}-span3"
    url = (
        f"{embedded_server.ui_url}/sessions/{seeded.main_session}?run={seeded.main_run}&span={span}"
    )
    page.goto(url)
    detail = page.locator(".span-detail")
    expect(detail.locator("h3")).to_contain_text("Edit")
    expect(detail.locator(".span-error")).to_contain_text("old_string not found in src/login.py")
    page.reload()
    expect(detail.locator("h3")).to_contain_text("Edit")
    expect(page.locator(".wf-row.is-selected .wf-name")).to_have_text("Edit")
    detail.get_by_role("button", name="Close").click()
    expect(detail).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"\?run={seeded.main_run}$"))


def test_runs_and_spans_open_from_the_keyboard(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.main_session}")
    first = page.locator(".run-head").first
    first.focus()
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("aria-expanded", "true")
    rows = page.locator(".waterfall .wf-row")
    expect(rows).to_have_count(4)
    rows.first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(rows.nth(2)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".span-detail h3")).to_contain_text("Bash")
    # The second run is still going: its running span is drawn open-ended.
    second = page.locator(".run-head").nth(1)
    second.focus()
    page.keyboard.press("Space")
    expect(second).to_have_attribute("aria-expanded", "true")
    expect(first).to_have_attribute("aria-expanded", "false")
    running = page.locator(".waterfall .wf-row")
    expect(running).to_have_count(1)
    expect(running.first).to_have_class(re.compile(r"\bis-running\b"))
    expect(running.first.locator(".wf-dur")).to_have_text("running")


def test_a_session_of_one_run_opens_it_and_a_closed_run_stays_closed(
    page: Page, embedded_server: Any
) -> None:
    session = f"single-{uuid.uuid4().hex[:8]}"
    post_ended(embedded_server, session, resumed_session(session)[:4])  # one run, then the end
    page.goto(f"{embedded_server.ui_url}/sessions/{session}")
    head = page.locator(".run-head")
    expect(head).to_have_count(1)
    expect(head).to_have_attribute("aria-expanded", "true")
    head.click()
    expect(head).to_have_attribute("aria-expanded", "false")
    page.reload()
    expect(head).to_have_attribute("aria-expanded", "false")
