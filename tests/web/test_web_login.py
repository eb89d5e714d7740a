"""In a real browser: with keys configured the dashboard asks for one, a read key logs in,
the dashboard (and its live feed) works, and logging out leads back to the login page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.auth.auth_support import make_keys
from tests.conftest import ServerProcess, start_embedded
from tests.web.conftest import PageProblems

from agentmon.config import Settings
from agentmon.store.keys import READ

pytestmark = pytest.mark.browser


@pytest.fixture
def keyed_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path / "data"
    keys = make_keys(Settings(data_dir=data_dir))
    server = start_embedded(data_dir)
    yield server, keys
    server.stop()


def test_log_in_with_a_read_key_see_the_dashboard_and_log_out(
    page: Page, keyed_server: tuple[ServerProcess, dict[str, str]], problems: PageProblems
) -> None:
    server, keys = keyed_server
    problems.allow_console_errors = True  # the refused login's page comes with status 401
    page.goto(server.ui_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert problems.console_errors == [], problems.console_errors

    page.get_by_label("API key (read or admin)").fill("amk_00000000_" + "x" * 43)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".login-message")).to_have_text("That key is not valid.")

    page.get_by_label("API key (read or admin)").fill(keys[READ])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".brand")).to_be_visible()
    expect(page.locator("#app .boot")).to_have_count(0)
    cookie = next(c for c in page.context.cookies() if c["name"] == "agentmon_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_role("link", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/logout$"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.ui_url + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert all("401" in error for error in problems.console_errors), problems.console_errors


def test_the_first_admin_from_the_setup_link_then_a_password_login(
    page: Page, tmp_path: Path, problems: PageProblems
) -> None:
    from tests.auth.test_users import PASSWORD, setup_link

    server = start_embedded(tmp_path / "data")
    try:
        expect_no_logout_link(page, server.ui_url)
        page.goto(setup_link(server))
        page.get_by_label("User name").fill("root")
        page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
        page.get_by_label("The password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the admin and log in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.locator(".brand")).to_be_visible()
        page.get_by_role("link", name="Log out").click()
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))

        problems.allow_console_errors = True  # the refused login's page comes with status 401
        page.get_by_label("User name").fill("root")
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".login-message")).to_have_text(
            "That user name and password do not match."
        )
        page.get_by_label("User name").fill("root")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.locator("#app .boot")).to_have_count(0)
        expect(page.get_by_role("link", name="Log out")).to_be_visible()
    finally:
        server.stop()


def expect_no_logout_link(page: Page, base: str) -> None:
    """With no credential anywhere the dashboard is open (loopback only) and has no session
    to end, so it offers no Log out link."""
    page.goto(base + "/")
    expect(page.locator(".brand")).to_be_visible()
    expect(page.get_by_role("link", name="Log out")).to_have_count(0)
