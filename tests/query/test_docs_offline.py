"""/docs renders Swagger UI from the package's own copy: headless Chromium with every
request that leaves the query app refused still shows the API's operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, sync_playwright

from tests.web.web_support import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set AGENTMON_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_docs_render_with_no_network(chromium: Any, embedded_server: Any) -> None:
    origin = embedded_server.query_url
    refused: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page = chromium.new_page()
    try:
        page.route("**/*", only_the_app)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{origin}/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
        assert "agentmon query API" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock-summary-path", has_text="/v1/events").count() >= 1
    finally:
        page.close()
    assert refused == [] and errors == []
