"""The web UI server over HTTP: the SPA fallback, assets, security headers, and both ways of
reaching the query API (in-process in `agentmon serve`, reverse proxy in `agentmon web-ui`)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from tests.conftest import free_port
from web_seed import Seed
from web_support import post_events
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agentmon.events import EventType, new_event, to_dict
from agentmon.web import create_web_app


class ThreadedServer:
    """A uvicorn server for one ASGI app in a background thread, on a socket bound to port 0
    here (no port is chosen first and bound later, when another process may have it)."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web UI server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def proxy_ui(embedded_server: Any) -> Iterator[ThreadedServer]:
    """The UI as `agentmon web-ui` runs it: proxying to the real query API over the network."""
    with ThreadedServer(create_web_app(embedded_server.query_url)) as server:
        yield server


def test_every_app_route_serves_the_spa_with_security_headers(embedded_server: Any) -> None:
    for path in ("/", "/sessions", "/sessions/some-id?run=x", "/agents", "/openclaw", "/nope"):
        response = httpx.get(embedded_server.ui_url + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/static/js/main.js">' in response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "eval" not in csp
        assert "connect-src 'self' ws: wss:" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_ui_only_answers_reads(embedded_server: Any) -> None:
    head = httpx.head(embedded_server.ui_url + "/sessions")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    post = httpx.post(embedded_server.ui_url + "/sessions", content=b"x")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"


def test_assets_are_served_from_the_package(embedded_server: Any) -> None:
    main = httpx.get(embedded_server.ui_url + "/static/js/main.js")
    assert main.status_code == 200
    assert main.headers["content-type"].startswith("text/javascript")
    hooks = httpx.get(embedded_server.ui_url + "/static/vendor/preact/hooks.mjs")
    assert hooks.headers["content-type"].startswith("text/javascript")
    assert 'from"./preact.mjs"' in hooks.text
    css = httpx.get(embedded_server.ui_url + "/static/vendor/uplot/uPlot.min.css")
    assert css.headers["content-type"].startswith("text/css")
    again = httpx.get(
        embedded_server.ui_url + "/static/js/main.js",
        headers={"if-none-match": main.headers["etag"]},
    )
    assert again.status_code == 304
    assert httpx.get(embedded_server.ui_url + "/static/js/missing.js").status_code == 404


def test_no_file_outside_the_static_directory_is_served(embedded_server: Any) -> None:
    for path in (
        "/static/%2e%2e/app.py",
        "/static/..%2f__init__.py",
        "/static/%2e%2e/%2e%2e/web/app.py",
    ):
        response = httpx.get(embedded_server.ui_url + path)
        assert response.status_code == 404, path
        assert "create_web_app" not in response.text, path


def test_api_paths_reach_the_query_api(embedded_server: Any, seeded: Seed) -> None:
    via_ui = httpx.get(f"{embedded_server.ui_url}/v1/sessions/{seeded.main_session}")
    direct = httpx.get(f"{embedded_server.query_url}/v1/sessions/{seeded.main_session}")
    assert via_ui.status_code == 200
    assert via_ui.json()["session"]["session_id"] == seeded.main_session
    assert via_ui.json()["runs"] == direct.json()["runs"]
    assert httpx.get(embedded_server.ui_url + "/healthz").json()["status"] == "ok"
    assert "paths" in httpx.get(embedded_server.ui_url + "/openapi.json").json()
    missing = httpx.get(embedded_server.ui_url + "/v1/sessions/no-such-session")
    assert missing.status_code == 404
    assert "error" in missing.json()


def test_reverse_proxy_forwards_http(proxy_ui: ThreadedServer, seeded: Seed) -> None:
    response = httpx.get(f"{proxy_ui.url}/v1/sessions", params={"framework": "codex"})
    assert response.status_code == 200
    ids = [s["session_id"] for s in response.json()["sessions"]]
    assert seeded.sid("bravo") in ids
    assert seeded.main_session not in ids
    bad = httpx.get(f"{proxy_ui.url}/v1/sessions", params={"status": "sleeping"})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]
    page = httpx.get(f"{proxy_ui.url}/sessions/{seeded.main_session}")
    assert page.status_code == 200 and "main.js" in page.text


def test_reverse_proxy_forwards_the_websocket(
    proxy_ui: ThreadedServer, embedded_server: Any, seeded: Seed
) -> None:
    ws_url = proxy_ui.url.replace("http://", "ws://") + "/v1/ws?framework=web-proxy-test"
    with connect(ws_url, open_timeout=5) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello"
        event = to_dict(
            new_event(
                EventType.METRIC_SNAPSHOT,
                framework="web-proxy-test",
                host="proxy",
                session_id=seeded.sid("proxy"),
                payload={"message": "through the proxy"},
            )
        )
        post_events(embedded_server, [event])
        deadline = time.monotonic() + 10
        seen: list[str] = []
        while event["event"]["id"] not in seen:
            assert time.monotonic() < deadline, "the event did not come through the proxy"
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "events":
                seen += [e["event"]["id"] for e in frame["events"]]


def test_reverse_proxy_reports_an_unreachable_query_api() -> None:
    with ThreadedServer(create_web_app(f"http://127.0.0.1:{free_port()}")) as server:
        response = httpx.get(server.url + "/v1/stats/summary")
        assert response.status_code == 502
        assert response.json() == {"error": "the query API is unreachable"}
        assert httpx.get(server.url + "/sessions").status_code == 200
        with pytest.raises(InvalidStatus):  # the handshake is refused
            connect(server.url.replace("http://", "ws://") + "/v1/ws", open_timeout=5)


def test_a_query_api_is_required() -> None:
    with pytest.raises(ValueError, match="query API"):
        create_web_app(None)


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    """An upstream that answers with what it received (method, path, query, a header, body)."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    answer = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "x_test": headers.get(b"x-test", b"").decode(),
        "forwarded_for": headers.get(b"x-forwarded-for", b"").decode(),
        "body": body.decode(),
    }
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json"), (b"x-upstream", b"echo")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


def test_reverse_proxy_passes_methods_bodies_and_headers() -> None:
    with (
        ThreadedServer(_echo) as upstream,
        ThreadedServer(create_web_app(upstream.url)) as ui,
    ):
        big = "x" * 300_000
        headers = {"x-test": "kept", "x-agentmon-csrf": "1"}
        response = httpx.post(f"{ui.url}/v1/anything?a=1&b=two", content=big, headers=headers)
        assert response.status_code == 201
        assert response.headers["x-upstream"] == "echo"
        assert "content-security-policy" not in response.headers  # API answers pass unchanged
        echoed = response.json()
        assert echoed["method"] == "POST"
        assert echoed["path"] == "/v1/anything"
        assert echoed["query"] == "a=1&b=two"
        assert echoed["x_test"] == "kept"
        assert echoed["forwarded_for"] == "127.0.0.1"
        assert echoed["body"] == big
        assert httpx.get(f"{ui.url}/v1/anything").json()["body"] == ""
        # a change without a bearer key or the CSRF header never reaches the API
        assert httpx.post(f"{ui.url}/v1/anything", content=b"x").status_code == 403
