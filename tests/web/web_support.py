"""Helpers shared by the web UI tests: talking to the ingest gateway, waiting, screenshots."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

CHROMIUM = os.environ.get("AGENTMON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def post_events(server: Any, events: list[dict[str, Any]]) -> None:
    """POST envelopes to the ingest gateway (with the API key when the server has one)."""
    headers = {}
    key = getattr(server, "api_key", None)
    if key:
        headers["authorization"] = f"Bearer {key}"
    response = httpx.post(
        f"{server.ingest_url}/v1/events", json=events, headers=headers, timeout=10
    )
    assert response.status_code < 300, response.text


def wait_until(check: Any, what: str, timeout: float = 10.0) -> Any:
    """Poll `check()` until it returns something truthy (seed data reaching the read models)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a sticky header would land mid-page otherwise
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
