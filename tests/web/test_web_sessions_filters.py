"""The sessions filters behind the numbers, in a real browser (Debian's Chromium): a top tool
on the dashboard and a model or project on the Costs view open the sessions behind them, the
filters show as chips that remove themselves, a typed filter lands in the URL, and a column
sorts on the server across every session, on every screen size with and without data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect
from test_web_screens import PHONE, WIDE, assert_fits
from web_seed import Seed
from web_support import screenshot

from conftest import PageProblems, new_page

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-fu-filters"


def shot(page: Page, name: str) -> None:
    """The artifacts screenshot, and a copy where a person looks at this branch's."""
    path = screenshot(page, name)
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, Path(SHOTS) / path.name)


def main_row(page: Page, seeded: Seed) -> Any:
    return page.locator("tbody tr", has=page.locator(f'a[href$="/{seeded.main_session}"]'))


def test_a_top_tool_opens_its_sessions_and_the_chip_removes_the_filter(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/")
    heading = page.get_by_role("heading", name=re.compile("Top tools"))
    tools = page.locator("section.panel", has=heading)
    tools.get_by_role("link", name="Bash", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/sessions\?tool=Bash$"))
    expect(main_row(page, seeded)).to_be_visible()
    chip = page.locator(".filter-chip")
    expect(chip).to_have_text(re.compile(r"Tool\s+Bash"))
    expect(page.locator("input[name=tool]")).to_have_value("Bash")
    assert "Sessions: Bash ·" in page.title()
    chip.get_by_role("button", name="Remove the tool filter").click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    expect(page.locator(".filter-chip")).to_have_count(0)


def test_a_typed_project_filters_and_a_filter_matching_nothing_says_so(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/sessions")
    field = page.locator("input[name=project]")
    field.fill("/src/app")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"project=%2Fsrc%2Fapp"))
    expect(main_row(page, seeded)).to_be_visible()
    expect(page.locator(".filter-chip")).to_have_text(re.compile(r"Project\s+/src/app"))
    page.goto(embedded_server.ui_url + "/sessions?tool=NoSuchTool")
    expect(page.locator(".empty")).to_contain_text("No session matches these filters.")


def test_costs_model_and_project_rows_open_their_sessions(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/costs")
    by_model = page.get_by_role("region", name="By model")
    by_model.get_by_role("link", name="claude-sonnet-4-6", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sessions\?model=claude-sonnet-4-6"))
    expect(main_row(page, seeded)).to_be_visible()
    page.goto(embedded_server.ui_url + "/costs")
    by_project = page.get_by_role("region", name="By project")
    by_project.get_by_role("link", name="/src/app", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sessions\?project=" + re.escape(quote("/src/app", ""))))
    expect(main_row(page, seeded)).to_be_visible()


def test_cost_sorts_on_the_server(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + f"/sessions?to={seeded.until}&limit=5")
    expect(page.locator("tbody tr").first).to_be_visible()
    with page.expect_request(re.compile(r"/v1/sessions\?.*sort=cost&dir=desc")):
        page.get_by_role("button", name="cost").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("cost ▼")
    with page.expect_request(re.compile(r"/v1/sessions\?.*sort=cost&dir=asc")):
        page.get_by_role("button", name="cost").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("cost ▲")
    expect(page.locator(".session-total")).not_to_contain_text("among those loaded")


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("light", WIDE), ("dark", WIDE), ("light", PHONE), ("dark", PHONE)],
    ids=["1440", "1440-dark", "390", "390-dark"],
)
def test_filtered_sessions_fit_every_screen(
    browser: Browser,
    problems: PageProblems,
    embedded_server: Any,
    seeded: Seed,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    page = new_page(browser, problems, scheme, viewport)
    suffix = f"{viewport['width']}{'-dark' if scheme == 'dark' else ''}"
    try:
        page.goto(embedded_server.ui_url + "/sessions?tool=Bash&project=%2Fsrc%2Fapp&sort=cost")
        expect(page.locator("tbody tr").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert_fits(page, f"filtered sessions at {viewport['width']} px")
        shot(page, f"sessions-filtered-{suffix}")
    finally:
        page.context.close()
    problems.check()


def test_filtered_sessions_on_an_empty_store(
    browser: Browser, problems: PageProblems, empty_server: Any
) -> None:
    server = empty_server
    for scheme, viewport in (("light", WIDE), ("dark", PHONE)):
        page = new_page(browser, problems, scheme, viewport)
        try:
            page.goto(server.ui_url + "/sessions?model=gpt-5&sort=tokens&dir=asc")
            expect(page.locator(".empty")).to_contain_text("No session matches these filters.")
            expect(page.locator(".filter-chip")).to_have_text(re.compile(r"Model\s+gpt-5"))
            assert_fits(page, f"empty filtered sessions at {viewport['width']} px")
            shot(page, f"empty-sessions-filtered-{viewport['width']}-{scheme}")
        finally:
            page.context.close()
    problems.check()
