"""Search in a real browser (Debian's Chromium) over the seed data: a command found with its
matched words marked, the hit opening its session with the span selected, page text never
run as markup, a refused query explained, and every screen size with and without data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from test_web_screens import PHONE, WIDE, assert_fits
from web_seed import XSS_TITLE, Seed
from web_support import screenshot, wait_until

from conftest import PageProblems, new_page

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-search"


def shot(page: Page, name: str) -> None:
    """The artifacts screenshot, and a copy where a person looks at this branch's."""
    path = screenshot(page, name)
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, Path(SHOTS) / path.name)


def test_a_command_is_found_and_opens_its_span(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/search")
    expect(page.locator(".search .empty")).to_contain_text("config/prod.yaml")
    page.get_by_role("searchbox").fill("pytest -q")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/search\?q=pytest\+-q$"))
    hit = page.locator(".search-hit", has=page.locator(f'a[href*="{seeded.main_session}"]'))
    expect(hit.first).to_be_visible()
    expect(hit.first.locator("mark")).to_have_text(["pytest", "-q"])
    expect(hit.first.locator(".search-hit-link")).to_have_text("Bash input")
    # the session it is in, by its title (here an injection attempt: shown as text)
    expect(hit.first.locator(".search-hit-session")).to_have_text(f"in session “{XSS_TITLE}”")
    assert page.evaluate("window.__xss") is None
    assert page.title().endswith("Search: pytest -q · agentmon")
    hit.first.locator(".search-hit-link").click()
    expect(page).to_have_url(
        re.compile(rf"/sessions/{seeded.main_session}\?run={seeded.main_run}&span=[^&]+-span2$")
    )
    expect(page.locator(".span-detail")).to_contain_text("pytest -q")


def test_text_in_a_snippet_is_never_markup(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + "/search?q=onerror&kind=tool")
    snippet = page.locator(".search-snippet").first
    expect(snippet).to_contain_text('<img src=x onerror="window.__xss=1')
    expect(snippet.locator("mark").first).to_have_text("onerror")
    assert snippet.locator("img, script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_filters_narrow_and_a_refused_query_is_explained(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/search?q=login")
    expect(page.locator(".search-hit").first).to_be_visible()
    page.locator("select[name=kind]").select_option("prompt")
    expect(page).to_have_url(re.compile(r"kind=prompt"))
    expect(page.locator(".search-hit .search-kind").first).to_have_text("prompt")
    kinds = page.locator(".search-hit .search-kind").all_text_contents()
    assert set(kinds) == {"prompt"}
    page.goto(embedded_server.ui_url + "/search?q=--")
    expect(page.get_by_role("alert")).to_contain_text("no letters or digits")
    page.goto(embedded_server.ui_url + "/search?q=zzyzx-nowhere")
    expect(page.locator(".empty")).to_contain_text("Nothing matches")


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("light", WIDE), ("dark", WIDE), ("light", PHONE), ("dark", PHONE)],
    ids=["1440", "1440-dark", "390", "390-dark"],
)
def test_search_fits_every_screen(
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
        page.goto(embedded_server.ui_url + "/search?q=login")
        expect(page.locator(".search-hit").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert_fits(page, f"search at {viewport['width']} px")
        shot(page, f"search-{suffix}")
    finally:
        page.context.close()
    problems.check()


def test_search_on_an_empty_store(
    browser: Browser, problems: PageProblems, empty_server: Any
) -> None:
    server = empty_server
    for scheme, viewport in (("light", WIDE), ("dark", PHONE)):
        page = new_page(browser, problems, scheme, viewport)
        try:
            page.goto(server.ui_url + "/search")
            expect(page.get_by_text("Find the session where an agent ran")).to_be_visible()
            shot(page, f"empty-search-{viewport['width']}-{scheme}")
            page.goto(server.ui_url + "/search?q=rm+-rf")
            expect(page.get_by_text("Nothing matches")).to_be_visible()
            assert_fits(page, f"empty search at {viewport['width']} px")
            shot(page, f"empty-search-nothing-{viewport['width']}-{scheme}")
        finally:
            page.context.close()
    problems.check()


def test_sessions_sort_by_a_column_and_show_the_total(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/sessions")
    expect(page.locator("tbody tr").first).to_be_visible()
    expect(page.locator(".session-total")).to_contain_text("shown")
    page.get_by_role("button", name="tokens").click()
    expect(page).to_have_url(re.compile(r"sort=tokens&dir=desc"))
    expect(page.locator("th[aria-sort=descending]")).to_have_text("tokens ▼")
    # the header turns at the click, the rows when the re-sorted page arrives
    values = wait_until(lambda: _sorted_tokens(page, descending=True), "rows by tokens, desc")
    assert values[0] > 0
    page.get_by_role("button", name="tokens").click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("tokens ▲")
    wait_until(lambda: _sorted_tokens(page, descending=False), "rows by tokens, asc")
    shot(page, "sessions-sorted-1440")


def _sorted_tokens(page: Page, *, descending: bool) -> list[float] | None:
    """The tokens column as shown, if it is in that order (None while it is not yet)."""
    cells = page.locator("tbody td[data-label=tokens]").all_text_contents()
    values = [_compact(text) for text in cells]
    return values if values and values == sorted(values, reverse=descending) else None


def _compact(text: str) -> float:
    """13.8K → 13800 (formatCompact's output)."""
    text = text.strip().replace(",", "")
    scale = {"K": 1e3, "M": 1e6, "B": 1e9}.get(text[-1:], 1)
    return float(text.rstrip("KMB") or 0) * scale
