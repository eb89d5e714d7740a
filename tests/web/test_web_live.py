"""Live behaviour: events POSTed to the ingest gateway reach the open views over the
WebSocket, the feed pauses, the socket reconnects and refetches, the API-down banner clears
by itself."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from web_seed import Seed
from web_support import post_events, wait_until

from agentmon.events import EventType, new_event, to_dict

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 2_000


def session_start(session_id: str, title: str, **kwargs: Any) -> dict[str, Any]:
    return to_dict(
        new_event(
            EventType.SESSION_START,
            framework=kwargs.get("framework", "claude-code"),
            host=kwargs.get("host", "laptop"),
            session_id=session_id,
            payload={"title": title},
        )
    )


def test_an_ingested_event_shows_in_the_live_feed(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page.locator(".feed .feed-row").first).to_be_visible()
    session = seeded.sid(f"live-{uuid.uuid4().hex[:6]}")
    title = f"live feed check {session}"
    post_events(embedded_server, [session_start(session, title)])
    row = page.locator(".feed .feed-row", has_text=title)
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.locator(".feed .feed-row").first).to_contain_text(title)
    row.click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session}$"))
    expect(page.locator(".session-head h1")).to_contain_text(title)


def test_pausing_the_feed_holds_new_events_back(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    toggle = page.locator(".feed-panel button.toggle")
    expect(toggle).to_have_text("Pause")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    session = seeded.sid(f"paused-{uuid.uuid4().hex[:6]}")
    title = f"held back {session}"
    post_events(embedded_server, [session_start(session, title)])
    # The event arrived (it is counted) but the list does not move while paused.
    expect(toggle).to_have_text("Resume (1 new)", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator(".feed .feed-row", has_text=title)).to_have_count(0)
    toggle.click()
    expect(toggle).to_have_text("Pause")
    expect(page.locator(".feed .feed-row").first).to_contain_text(title)


def test_new_sessions_appear_in_the_table(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + "/sessions?framework=claude-code")
    expect(page.locator("tbody tr").first).to_be_visible()
    session = seeded.sid(f"new-{uuid.uuid4().hex[:6]}")
    post_events(embedded_server, [session_start(session, f"brand new {session}")])
    row = page.locator("tbody tr", has_text=session)
    expect(row).to_have_count(1, timeout=5_000)
    expect(page.locator("tbody tr").first).to_contain_text(session)
    expect(row.locator(".badge")).to_have_text("active")


def test_the_waterfall_follows_a_running_session(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    session = seeded.sid(f"follow-{uuid.uuid4().hex[:6]}")
    run, span = f"{session}-run", f"{session}-span"
    common: dict[str, Any] = {"framework": "codex", "host": "ci-runner", "session_id": session}
    post_events(
        embedded_server,
        [
            session_start(session, "follow me", framework="codex", host="ci-runner"),
            to_dict(new_event(EventType.RUN_START, run_id=run, payload={"input": "go"}, **common)),
            to_dict(
                new_event(
                    EventType.SPAN_START,
                    run_id=run,
                    span_id=span,
                    payload={"kind": "tool", "name": "Grep", "input": {"pattern": "TODO"}},
                    **common,
                )
            ),
        ],
    )
    page.goto(f"{embedded_server.ui_url}/sessions/{session}?run={run}")
    row = page.locator(".waterfall .wf-row")
    expect(row).to_have_count(1)
    expect(row.first.locator(".wf-status")).to_have_text("running")
    post_events(
        embedded_server,
        [
            to_dict(
                new_event(
                    EventType.SPAN_END,
                    run_id=run,
                    span_id=span,
                    payload={"kind": "tool", "name": "Grep", "status": "ok", "output": "3 hits"},
                    **common,
                )
            ),
            to_dict(
                new_event(
                    EventType.SPAN_START,
                    run_id=run,
                    span_id=f"{span}2",
                    payload={"kind": "tool", "name": "Read"},
                    **common,
                )
            ),
        ],
    )
    expect(row).to_have_count(2, timeout=5_000)
    expect(row.locator(".wf-name")).to_have_text(["Grep", "Read"])
    expect(row.first.locator(".wf-status")).to_have_text("ok")
    expect(row.nth(1)).to_have_class(re.compile(r"\bis-running\b"))


def test_the_websocket_reconnects_and_refetches_what_it_missed(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    sockets: list[WebSocketRoute] = []
    offline = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        if offline["on"]:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/v1/ws"), route)
    page.goto(embedded_server.ui_url + "/")
    indicator = page.locator(".live-indicator")
    expect(indicator).to_have_text("Live")
    expect(page.locator(".feed .feed-row").first).to_be_visible()

    offline["on"] = True
    sockets[-1].close()
    expect(indicator).to_contain_text("Live updates lost, retrying in")
    # Reconnection attempts are refused until the test lets them through.
    session = seeded.sid(f"missed-{uuid.uuid4().hex[:6]}")
    title = f"sent while offline {session}"
    post_events(embedded_server, [session_start(session, title)])
    stored = f"{embedded_server.query_url}/v1/sessions/{session}"
    wait_until(lambda: httpx.get(stored).status_code == 200, "the event to be stored")
    expect(page.locator(".feed .feed-row", has_text=title)).to_have_count(0)

    offline["on"] = False
    indicator.get_by_role("button", name="Retry now").click()
    expect(indicator).to_have_text("Live")
    # Nothing new comes over the socket for that event: only the refetch can show it.
    expect(page.locator(".feed .feed-row", has_text=title)).to_be_visible()


def test_the_api_down_banner_clears_by_itself(
    page: Page, embedded_server: Any, seeded: Seed, problems: Any
) -> None:
    problems.allow_console_errors = True  # the browser logs each refused request
    page.goto(f"{embedded_server.ui_url}/sessions?to={seeded.until}")
    expect(page.locator("tbody tr", has_text=seeded.main_session)).to_have_count(1)
    page.route(re.compile(r"/(v1/(?!ws)|healthz)"), lambda route: route.abort())
    page.select_option("select[name=framework]", "codex")
    banner = page.get_by_role("alert").filter(has_text="The agentmon API is unavailable.")
    expect(banner).to_be_visible()
    expect(
        page.get_by_text("The query API cannot be reached; this retries by itself.")
    ).to_be_visible()
    page.unroute_all()
    expect(banner).to_have_count(0, timeout=10_000)
    expect(page.locator("tbody tr", has_text=seeded.sid("bravo"))).to_have_count(1)
    expect(page.locator("tbody tr", has_text=seeded.main_session)).to_have_count(0)


def test_a_dropped_notice_makes_the_view_refetch(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    forwarding = {"on": True}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: ws.send(message) if forwarding["on"] else None)
        sockets.append(ws)

    sockets: list[WebSocketRoute] = []
    page.route_web_socket(re.compile(r"/v1/ws"), route)
    page.goto(embedded_server.ui_url + "/")
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page.locator(".feed .feed-row").first).to_be_visible()

    forwarding["on"] = False  # the server's frames are lost from here on
    session = seeded.sid(f"dropped-{uuid.uuid4().hex[:6]}")
    title = f"skipped by a slow client {session}"
    post_events(embedded_server, [session_start(session, title)])
    stored = f"{embedded_server.query_url}/v1/sessions/{session}"
    wait_until(lambda: httpx.get(stored).status_code == 200, "the event to be stored")
    expect(page.locator(".feed .feed-row", has_text=title)).to_have_count(0)

    sockets[-1].send('{"type": "dropped", "count": 1}')
    expect(page.locator(".feed .feed-row", has_text=title)).to_be_visible()


def test_a_live_update_does_not_wipe_a_filter_being_typed(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/sessions")
    expect(page.locator("tbody tr").first).to_be_visible()
    field = page.locator("input[name=project]")
    field.click()
    field.press_sequentially("/src/ap")
    session = seeded.sid(f"typing-{uuid.uuid4().hex[:6]}")
    post_events(embedded_server, [session_start(session, f"arrives while typing {session}")])
    expect(page.locator("tbody tr", has_text=session)).to_have_count(1, timeout=5_000)
    expect(field).to_have_value("/src/ap")
    field.press_sequentially("p")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"project=%2Fsrc%2Fapp"))
