"""Attention you can act on, in a real browser: the dashboard's strip groups what needs a
person by kind, an acknowledgement is stored server-side (another browser sees it) and the
item comes back when the thing happens again; opt-in browser notifications fire when an
agent starts waiting (permission granted in the test's browser context)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Browser, Page, expect
from web_seed import Seed
from web_support import VIEWPORT, post_events, screenshot

from agentmon.events import EventType, new_event, to_dict

# records every notification the page creates, then creates it for real
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body });
    }
  }
  window.Notification = Recorded;
})();
"""


def event(kind: EventType, session: str, host: str, **fields: Any) -> dict[str, Any]:
    return to_dict(
        new_event(
            kind,
            framework="codex",
            client_id=host,
            host=host,
            session_id=session,
            ts=datetime.now(UTC),
            **fields,
        )
    )


def failing_run(
    session: str, host: str, run: str, title: str | None = None
) -> list[dict[str, Any]]:
    start = {"title": title} if title else {}
    return [
        event(EventType.SESSION_START, session, host, payload=start),
        event(EventType.RUN_START, session, host, run_id=run, payload={"input": "deploy"}),
        event(
            EventType.RUN_END,
            session,
            host,
            run_id=run,
            payload={"status": "error", "error": "exit status 1"},
        ),
    ]


def test_the_strip_groups_by_kind_and_acknowledges_for_everyone(
    page: Page, browser: Browser, embedded_server: Any, seeded: Seed
) -> None:
    tag = uuid.uuid4().hex[:6]
    session, host, title = f"deploy-{tag}", f"builder-{tag}", f"Deploy the docs site {tag}"
    post_events(embedded_server, failing_run(session, host, f"{session}-r1", title))
    page.goto(embedded_server.ui_url + "/")
    strip = page.locator("section.attention")
    expect(strip.locator(".attention-group.kind-waiting")).to_contain_text(
        "Migrate the build to uv"
    )
    failed = strip.locator(".attention-group.kind-error")
    expect(failed.locator(".attention-kind")).to_contain_text("failed")
    card = failed.locator("li", has_text=title)
    expect(card.locator(".attention-card")).to_contain_text(f"codex · {host} · failed")
    screenshot(page, "attention")
    card.get_by_role("button", name="Acknowledge").click()
    expect(failed.locator("li:not(.acknowledged)", has_text=title)).to_have_count(0)

    # another browser sees the acknowledgement, and who made it
    other = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        other.goto(embedded_server.ui_url + "/?attention=1h")
        other.locator(".attention-controls").get_by_role(
            "button", name=re.compile(r"Show \d+ acknowledged")
        ).click()
        acked = other.locator(".attention-group.kind-error li.acknowledged", has_text=title)
        expect(acked).to_contain_text("acknowledged by anonymous")
    finally:
        other.context.close()

    # a later failure opens it again, live
    post_events(embedded_server, failing_run(session, host, f"{session}-r2"))
    expect(failed.locator("li:not(.acknowledged)", has_text=title)).to_have_count(1)


def test_a_new_wait_raises_a_browser_notification(
    browser: Browser, embedded_server: Any, seeded: Seed
) -> None:
    context = browser.new_context(viewport=VIEWPORT, permissions=["notifications"])
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    try:
        page.goto(embedded_server.ui_url + "/")
        toggle = page.get_by_role("button", name="Notify me")
        toggle.click()
        expect(page.get_by_role("button", name="Notifications on")).to_be_visible()
        page.wait_for_timeout(1500)  # the first look: what is already there is not news
        assert page.evaluate("() => window.__notes.length") == 0
        tag = uuid.uuid4().hex[:6]
        ask = {
            "agent_state": "waiting_for_human",
            "waiting_reason": "permission_prompt",
            "message": f"Allow Bash: git push --force {tag}?",
        }
        post_events(
            embedded_server,
            [event(EventType.METRIC_SNAPSHOT, f"ask-{tag}", f"mac-{tag}", payload=ask)],
        )
        page.wait_for_function(
            "tag => window.__notes.some(n => n.body.includes(`git push --force ${tag}`))",
            arg=tag,
            timeout=15_000,
        )
        note = page.evaluate("() => window.__notes[window.__notes.length - 1]")
        assert note["title"] == f"codex on mac-{tag}: waiting for a human"
        # the choice survives a reload
        page.reload()
        expect(page.get_by_role("button", name="Notifications on")).to_be_visible()
    finally:
        context.close()


def test_today_is_the_viewers_own_day_and_tools_show_p95(
    browser: Browser, embedded_server: Any, seeded: Seed
) -> None:
    context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Paris")
    page = context.new_page()
    try:
        page.goto(embedded_server.ui_url + "/")
        today = page.locator("section.today h2")
        expect(today).to_contain_text("Today (Europe/Paris)")
        expect(today).to_contain_text(re.compile(r"since \w+ \d+, 12:00 AM Europe/Paris"))
        tools = page.locator(".panel", has_text="Top tools")
        expect(tools.locator("thead")).to_contain_text("p50")
        expect(tools.locator("tbody tr", has_text="Bash").locator("td").nth(4)).to_have_text(
            re.compile(r"^\d+(\.\d+)? m?s$")
        )
        page.goto(embedded_server.ui_url + "/agents")
        expect(page.locator(".view.agents")).to_contain_text("Today is the day in Europe/Paris")
    finally:
        context.close()
