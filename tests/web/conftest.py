"""Browser fixtures for the web UI tests: headless Chromium through Playwright, pages that
record console errors, and seed data POSTed to the real ingest gateway of `embedded_server`
(tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Playwright, sync_playwright
from tests.conftest import start_embedded
from web_seed import Seed, build_seed
from web_support import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, post_events, wait_until


@pytest.fixture(scope="session")
def seeded(embedded_server: Any) -> Seed:
    """The seed data of tests/web/seed.py, stored and visible through the query API."""
    seed = build_seed(f"web{uuid.uuid4().hex[:8]}")
    post_events(embedded_server, seed.events)

    def stored() -> bool:
        response = httpx.get(f"{embedded_server.query_url}/v1/sessions/{seed.main_session}")
        if response.status_code != 200:
            return False
        runs = response.json()["runs"]
        vms = httpx.get(f"{embedded_server.query_url}/v1/openclaw/instances").json()
        names = {i["name"] for i in vms["instances"]}
        return len(runs) == 2 and {seed.vm_ok, seed.vm_bad} <= names

    wait_until(stored, "the seed data in the query API")
    return seed


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded server that stays empty, shared by the tests of what an empty store looks
    like (they only read it)."""
    server = start_embedded(tmp_path_factory.mktemp("empty") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set AGENTMON_CHROMIUM)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """What went wrong in a page: console errors, uncaught exceptions, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allow_console_errors: bool = False

    def check(self) -> None:
        assert self.page_errors == [], f"uncaught errors in the page: {self.page_errors}"
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"
        if not self.allow_console_errors:
            assert self.console_errors == [], f"console errors: {self.console_errors}"


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


def new_page(
    browser: Browser,
    problems: PageProblems,
    color_scheme: str,
    viewport: dict[str, int] | None = None,
) -> Page:
    """A page that records its problems in `problems`; the caller closes its context."""
    context = browser.new_context(viewport=viewport or VIEWPORT, color_scheme=color_scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.console_errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        problems.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    return page


@pytest.fixture
def page(browser: Browser, problems: PageProblems) -> Iterator[Page]:
    """A fresh 1280 px page in the light theme; fails the test on console errors."""
    page = new_page(browser, problems, "light")
    yield page
    page.context.close()
    problems.check()


@pytest.fixture
def dark_page(browser: Browser, problems: PageProblems) -> Iterator[Page]:
    page = new_page(browser, problems, "dark")
    yield page
    page.context.close()
    problems.check()
