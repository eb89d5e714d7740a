"""Every route of every app checks its scope: no credential → 401 (UI pages: a redirect to
/login), the wrong scope → 403, the right one → through. The routes come from the app
objects, so an endpoint added later is checked here without anyone listing it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agentmon.config import Settings
from agentmon.store.keys import ADMIN, INGEST, READ
from tests.auth.auth_support import (
    API_KEY,
    OPEN,
    Endpoint,
    app_routes,
    make_keys,
    needed_scope,
)
from tests.conftest import ServerProcess, free_ports, start_agentmon, start_embedded

UI_PAGES = ("/", "/sessions/x", "/metrics", "/redoc")


def status_of(
    base: str, endpoint: Endpoint, key: str | None, client: httpx.Client | None = None
) -> int:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    if endpoint.method == "WS":
        url = "ws" + base[4:] + endpoint.path
        try:
            with connect(url, additional_headers=headers, open_timeout=5):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code
    response = (client or httpx.Client()).request(
        endpoint.method,
        base + endpoint.path,
        headers={**headers, "origin": "https://elsewhere.example"},
        json={} if endpoint.method == "POST" else None,
        timeout=10,
    )
    # no CORS: a page on another origin never gets to read an answer
    assert "access-control-allow-origin" not in response.headers, endpoint
    return response.status_code


def check_port(base: str, port: str, endpoints: list[Endpoint], keys: dict[str, str]) -> None:
    problems = []
    with httpx.Client() as client:
        for endpoint in endpoints:
            problems += _problems(base, port, endpoint, keys, client)
    assert not problems, "\n".join(problems)


def _problems(
    base: str, port: str, endpoint: Endpoint, keys: dict[str, str], client: httpx.Client
) -> list[str]:
    need = needed_scope(port, endpoint)
    anonymous = status_of(base, endpoint, None, client)
    if need == OPEN:
        if anonymous == 401 or anonymous >= 500:
            return [f"{port} {endpoint}: open, yet answered {anonymous}"]
        return []
    problems = []
    expected = 303 if port == "ui" and endpoint.path in UI_PAGES else 401
    if anonymous != expected:
        problems.append(f"{port} {endpoint}: no credential → {anonymous}, not {expected}")
    wrong = status_of(base, endpoint, keys[_other(need)], client)
    if wrong != 403:
        problems.append(f"{port} {endpoint}: a {_other(need)} key → {wrong}, not 403")
    for name, key in ((need, keys[need]), (ADMIN, keys[ADMIN]), ("AGENTMON_API_KEY", API_KEY)):
        allowed = status_of(base, endpoint, key, client)
        if allowed in (401, 403) or allowed >= 500:
            problems.append(f"{port} {endpoint}: a {name} key → {allowed}")
    return problems


def _other(scope: str) -> str:
    """A key that must be refused where `scope` is needed."""
    return INGEST if scope == READ else READ


def test_the_admin_routes_are_enumerated_with_their_declared_scope(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    for port in ("query", "ui"):
        admin = {e.path for e in routes[port] if needed_scope(port, e) == ADMIN}
        assert {"/v1/admin/users", "/v1/admin/keys"} <= admin, (port, admin)


@pytest.fixture
def keyed_embedded(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path / "data"
    keys = make_keys(Settings(data_dir=data_dir))
    server = start_embedded(data_dir, env={"AGENTMON_API_KEY": API_KEY})
    yield server, keys
    server.stop()


def test_every_route_of_every_embedded_port_checks_its_scope(
    keyed_embedded: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, keys = keyed_embedded
    routes = app_routes(tmp_path / "routes")
    for port in ("ingest", "otlp", "query", "ui"):
        check_port(server.url(port), port, routes[port], keys)


def test_a_revoked_key_is_refused_within_seconds(
    keyed_embedded: tuple[ServerProcess, dict[str, str]],
) -> None:
    import subprocess
    import time

    server, keys = keyed_embedded
    sessions = Endpoint("/v1/sessions", "GET")
    assert status_of(server.query_url, sessions, keys[READ]) == 200
    subprocess.run(
        [sys.executable, "-m", "agentmon", "keys", "revoke", "read-key"],
        env={"AGENTMON_DATA_DIR": str(server.data_dir), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 15
    while status_of(server.query_url, sessions, keys[READ]) != 401:
        assert time.monotonic() < deadline, "the revoked key still works after 15 s"
        time.sleep(0.5)
    assert status_of(server.query_url, sessions, keys[ADMIN]) == 200


@pytest.mark.services
def test_every_route_of_every_distributed_service_checks_its_scope(
    tmp_path: Path, nats_url: str, database_url: str, nats_names: dict[str, str]
) -> None:
    keys = make_keys(Settings(database_url=database_url))
    env = {"NATS_URL": nats_url, "DATABASE_URL": database_url, "AGENTMON_API_KEY": API_KEY}
    env |= nats_names
    names = ("ingest", "otlp", "query", "ui", "metrics")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    commands = {
        "ingest": [
            "ingest-gateway",
            "--addr",
            f"127.0.0.1:{ports['ingest']}",
            "--otlp-addr",
            f"127.0.0.1:{ports['otlp']}",
        ],
        "query": ["query-api", "--addr", f"127.0.0.1:{ports['query']}"],
        "ui": [
            "web-ui",
            "--addr",
            f"127.0.0.1:{ports['ui']}",
            "--query-base",
            f"http://127.0.0.1:{ports['query']}",
        ],
        "metrics": ["event-processor", "--metrics-addr", f"127.0.0.1:{ports['metrics']}"],
    }
    started = []
    try:
        for name, args in commands.items():
            port_names = {"ingest": ["ingest", "otlp"]}.get(name, [name])
            started.append(
                start_agentmon(
                    args,
                    {n: ports[n] for n in port_names},
                    tmp_path / f"{name}.log",
                    env,
                    health=[] if name == "metrics" else None,
                )
            )
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        _wait_for_processor(base["metrics"])
        routes = app_routes(tmp_path / "routes")
        for port in ("ingest", "otlp", "query", "ui", "metrics"):
            check_port(base[port], port, routes[port], keys)
    finally:
        for process in started:
            process.stop()


def _wait_for_processor(base: str) -> None:
    from tests.conftest import wait_until

    def consuming() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(consuming, 30, "the event processor consuming")
