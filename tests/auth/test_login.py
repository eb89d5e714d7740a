"""The web UI's login against a real `agentmon serve` with keys: cookie flags, CSRF and
Origin checks, rate limiting, logout, and the proxy forwarding the session's key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from agentmon.config import Settings
from agentmon.store.keys import INGEST, READ
from tests.auth.auth_support import make_keys
from tests.conftest import ServerProcess, start_embedded


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("login") / "data"
    keys = make_keys(Settings(data_dir=data_dir))
    server = start_embedded(data_dir)
    yield server, keys
    server.stop()


def login_form(client: httpx.Client) -> str:
    """GET /login: the page's CSRF token (the same value is now a cookie of `client`)."""
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def log_in(client: httpx.Client, key: str, origin: str | None = None) -> httpx.Response:
    token = login_form(client)
    origin = origin if origin is not None else str(client.base_url).rstrip("/")
    return client.post("/login", data={"key": key, "csrf": token}, headers={"origin": origin})


def test_a_read_key_logs_in_with_a_strict_http_only_cookie_and_logs_out(
    keyed: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, keys = keyed
    with httpx.Client(base_url=server.ui_url) as client:
        assert client.get("/").status_code == 303
        answer = log_in(client, keys[READ])
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("agentmon_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here; https (or X-Forwarded-Proto) adds it
        assert client.get("/").status_code == 200
        assert client.get("/v1/sessions").status_code == 200  # the proxy forwards the key
        out = client.post(
            "/logout", data={"csrf": login_form(client)}, headers={"origin": server.ui_url}
        )
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert client.get("/").status_code == 303
        assert client.get("/v1/sessions").status_code == 401


def test_the_cookie_is_secure_behind_an_https_proxy(
    keyed: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, keys = keyed
    https = {"x-forwarded-proto": "https"}
    page = httpx.get(f"{server.ui_url}/login", headers=https)
    assert "Secure" in page.headers["set-cookie"]
    csrf = page.cookies["agentmon_csrf"]  # a Secure cookie: httpx would not send it over http
    answer = httpx.post(
        f"{server.ui_url}/login",
        data={"key": keys[READ], "csrf": csrf},
        headers={**https, "origin": server.ui_url, "cookie": f"agentmon_csrf={csrf}"},
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_the_live_websocket_accepts_the_session_cookie(
    keyed: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, keys = keyed
    ws_url = "ws" + server.ui_url[4:] + "/v1/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin=Origin(server.ui_url)).close()
    assert refused.value.response.status_code == 401
    with httpx.Client(base_url=server.ui_url) as client:
        log_in(client, keys[READ])
        session = client.cookies["agentmon_session"]
    with connect(
        ws_url,
        origin=Origin(server.ui_url),
        additional_headers={"cookie": f"agentmon_session={session}"},
    ):
        pass


def test_an_ingest_key_cannot_log_in(keyed: tuple[ServerProcess, dict[str, str]]) -> None:
    server, keys = keyed
    with httpx.Client(base_url=server.ui_url) as client:
        answer = log_in(client, keys[INGEST])
        assert answer.status_code == 401 and "agentmon_session" not in client.cookies


def test_a_login_from_another_origin_or_without_the_csrf_token_is_refused(
    keyed: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, keys = keyed
    with httpx.Client(base_url=server.ui_url) as client:
        assert log_in(client, keys[READ], origin="https://evil.example").status_code == 403
        login_form(client)
        no_token = client.post(
            "/login", data={"key": keys[READ]}, headers={"origin": server.ui_url}
        )
        assert no_token.status_code == 403
        assert "agentmon_session" not in client.cookies


def test_failed_logins_are_limited_per_address(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    keys = make_keys(Settings(data_dir=data_dir))
    server = start_embedded(data_dir)
    try:
        with httpx.Client(base_url=server.ui_url) as client:
            statuses = [log_in(client, "amk_00000000_" + "x" * 40).status_code for _ in range(6)]
            assert statuses == [401] * 5 + [429]
            throttled = log_in(client, keys[READ])
            assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert "login-failed" in server.log() and "login-throttled" in server.log()
    finally:
        server.stop()
