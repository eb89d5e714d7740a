"""Behind a reverse proxy (oauth2-proxy and the like): the user header and X-Forwarded-For
count only from AGENTMON_TRUSTED_PROXIES. The "proxy" here is 127.0.0.2 (a loopback
address this machine can send from); the same requests from 127.0.0.1 are spoofs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth.test_login import log_in
from tests.auth.test_users import add_user
from tests.conftest import ServerProcess, start_embedded

PROXY = "127.0.0.2"
HEADER = "X-Auth-Request-User"


def client_from(address: str, base: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address))


def start_behind_proxy(data_dir: Path, default_role: str) -> ServerProcess:
    return start_embedded(
        data_dir,
        env={
            "AGENTMON_TRUSTED_PROXIES": f"{PROXY}/32, 10.0.0.0/8",
            "AGENTMON_TRUSTED_USER_HEADER": HEADER,
            "AGENTMON_TRUSTED_USER_ROLE": default_role,
        },
    )


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("proxy") / "data"
    add_user(data_dir, "alice", "admin")
    add_user(data_dir, "victor", "viewer")
    server = start_behind_proxy(data_dir, "viewer")
    yield server
    server.stop()


def test_the_user_header_counts_from_a_trusted_proxy_only(behind_proxy: ServerProcess) -> None:
    for base in (behind_proxy.ui_url, behind_proxy.query_url):
        with client_from(PROXY, base) as proxy, client_from("127.0.0.1", base) as spoofer:
            assert proxy.get("/v1/sessions", headers={HEADER: "victor"}).status_code == 200
            assert proxy.get("/v1/admin/users", headers={HEADER: "victor"}).status_code == 403
            assert proxy.get("/v1/admin/users", headers={HEADER: "alice"}).status_code == 200
            assert proxy.get("/v1/sessions").status_code == 401  # no header, no user
            assert spoofer.get("/v1/sessions", headers={HEADER: "alice"}).status_code == 401
            assert spoofer.get("/v1/admin/users", headers={HEADER: "alice"}).status_code == 401
    with client_from("127.0.0.1", behind_proxy.ui_url) as spoofer:
        assert spoofer.get("/", headers={HEADER: "alice"}).status_code == 303  # to /login


def test_a_proxy_user_not_in_the_users_table_gets_the_default_role(
    behind_proxy: ServerProcess,
) -> None:
    with client_from(PROXY, behind_proxy.query_url) as proxy:
        assert proxy.get("/v1/sessions", headers={HEADER: "newcomer"}).status_code == 200
        assert proxy.get("/v1/admin/keys", headers={HEADER: "newcomer"}).status_code == 403
        assert proxy.get("/v1/sessions", headers={HEADER: "bad name!"}).status_code == 401


def test_with_default_role_none_only_known_users_get_in(tmp_path: Path) -> None:
    add_user(tmp_path / "data", "victor", "viewer")
    server = start_behind_proxy(tmp_path / "data", "none")
    try:
        with client_from(PROXY, server.query_url) as proxy:
            assert proxy.get("/v1/sessions", headers={HEADER: "victor"}).status_code == 200
            assert proxy.get("/v1/sessions", headers={HEADER: "stranger"}).status_code == 401
        assert "proxy-user-refused" in server.log()
    finally:
        server.stop()


def test_login_throttling_follows_x_forwarded_for_only_from_a_trusted_proxy(
    behind_proxy: ServerProcess,
) -> None:
    wrong = "amk_00000000_" + "x" * 43
    with client_from(PROXY, behind_proxy.ui_url) as proxy:
        first = {"x-forwarded-for": "203.0.113.5"}
        proxy.headers.update(first)
        assert [log_in(proxy, wrong).status_code for _ in range(6)] == [401] * 5 + [429]
        proxy.headers.update({"x-forwarded-for": "203.0.113.6, 10.1.2.3"})
        assert log_in(proxy, wrong).status_code == 401  # another client behind the proxy
    assert '"address":"203.0.113.5"' in behind_proxy.log()
    with client_from("127.0.0.1", behind_proxy.ui_url) as spoofer:
        statuses = []
        for n in range(6):
            spoofer.headers.update({"x-forwarded-for": f"198.51.100.{n}"})
            statuses.append(log_in(spoofer, wrong).status_code)
        assert statuses == [401] * 5 + [429]  # the header changed nothing: one address
    assert "198.51.100." not in behind_proxy.log()
