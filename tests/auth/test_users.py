"""Users of the web UI against a real `agentmon serve`: `agentmon users`, logging in with a
password, roles (admin routes refuse viewers), sessions ending with their user, the
one-time setup link for the first admin, the Log out link, and CSRF on API changes."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentmon.config import Settings
from agentmon.store.keys import ADMIN, READ
from tests.auth.auth_support import make_keys
from tests.auth.test_login import log_in, login_form
from tests.conftest import ServerProcess, start_embedded, wait_until

PASSWORD = "correct horse battery"


def users_cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTMON_DATA_DIR": str(data_dir)}
    env.pop("AGENTMON_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "agentmon", "users", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def add_user(data_dir: Path, name: str, role: str, password: str = PASSWORD) -> None:
    added = users_cli(data_dir, "add", name, "--role", role, stdin=password + "\n")
    assert added.returncode == 0, added.stderr


def password_login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    token = login_form(client)
    origin = str(client.base_url).rstrip("/")
    form = {"user": user, "password": password, "csrf": token}
    # a password check takes a few hundred milliseconds, seconds on a loaded machine
    return client.post("/login", data=form, headers={"origin": origin}, timeout=60)


@pytest.fixture(scope="module")
def with_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("users") / "data"
    add_user(data_dir, "alice", "admin")
    add_user(data_dir, "victor", "viewer")
    server = start_embedded(data_dir)
    yield server
    server.stop()


def test_users_are_added_listed_changed_and_removed_without_a_password_on_argv(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    add_user(data_dir, "bob", "viewer")
    listed = users_cli(data_dir, "list")
    assert re.search(r"^bob\s+viewer\s", listed.stdout, re.MULTILINE), listed.stdout
    assert "scrypt" not in listed.stdout and PASSWORD not in listed.stdout
    short = users_cli(data_dir, "add", "carol", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    twice = users_cli(data_dir, "add", "bob", stdin=PASSWORD + "\n")
    assert twice.returncode == 2 and "exists already" in twice.stderr
    bad_name = users_cli(data_dir, "add", "no spaces", stdin=PASSWORD + "\n")
    assert bad_name.returncode == 2 and "user name" in bad_name.stderr
    assert users_cli(data_dir, "passwd", "bob", stdin="another password\n").returncode == 0
    assert users_cli(data_dir, "remove", "bob").returncode == 0
    assert "bob" not in users_cli(data_dir, "list").stdout
    gone = users_cli(data_dir, "remove", "bob")
    assert gone.returncode == 2 and "no user named 'bob'" in gone.stderr


def test_a_viewer_reads_but_is_refused_the_admin_routes_an_admin_is_not(
    with_users: ServerProcess,
) -> None:
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        answer = password_login(client, "victor", PASSWORD)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert client.get("/v1/sessions").status_code == 200
        refused = client.get("/v1/admin/users")
        assert refused.status_code == 403 and "admin" in refused.json()["error"]
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        assert password_login(client, "alice", PASSWORD).status_code == 303
        users = client.get("/v1/admin/users").json()["users"]
        assert {(u["name"], u["role"]) for u in users} == {("alice", "admin"), ("victor", "viewer")}
        assert all("password" not in str(u) for u in users)


def test_a_session_token_is_a_bearer_for_its_role_but_no_key_to_log_in_with(
    with_users: ServerProcess,
) -> None:
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        assert password_login(client, "victor", PASSWORD).status_code == 303
        token = client.cookies["agentmon_session"]
    bearer = {"authorization": f"Bearer {token}"}
    # what the web UI's proxy forwards to a query API of its own in distributed mode
    assert httpx.get(with_users.query_url + "/v1/sessions", headers=bearer).status_code == 200
    assert httpx.get(with_users.query_url + "/v1/admin/users", headers=bearer).status_code == 403
    assert (
        httpx.post(with_users.ingest_url + "/v1/events", json=[], headers=bearer).status_code == 403
    )
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        pasted = log_in(client, token)  # a viewer's own token must not become a new login
        assert pasted.status_code == 401 and "agentmon_session" not in client.cookies


def test_a_wrong_password_or_unknown_user_is_refused_alike(with_users: ServerProcess) -> None:
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        wrong = password_login(client, "alice", "not the password")
        unknown = password_login(client, "mallory", PASSWORD)
        assert wrong.status_code == unknown.status_code == 401
        message = "That user name and password do not match."
        assert message in wrong.text and message in unknown.text
        assert "agentmon_session" not in client.cookies
    assert '"user":"mallory"' in with_users.log() and "login-failed" in with_users.log()


def test_removing_a_user_ends_their_session(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    add_user(data_dir, "dora", "viewer")
    server = start_embedded(data_dir)
    try:
        with httpx.Client(base_url=server.ui_url, timeout=60) as client:
            assert password_login(client, "dora", PASSWORD).status_code == 303
            assert client.get("/v1/sessions").status_code == 200
            assert users_cli(data_dir, "remove", "dora").returncode == 0
            wait_until(
                lambda: client.get("/v1/sessions").status_code == 401, 15, "the session ended"
            )
            assert client.get("/").status_code == 303
    finally:
        server.stop()


def test_a_cookie_session_changes_nothing_from_another_origin(with_users: ServerProcess) -> None:
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        assert password_login(client, "alice", PASSWORD).status_code == 303
        forged = client.post("/v1/sessions", headers={"origin": "https://evil.example"})
        assert forged.status_code == 403 and "Origin" in forged.json()["error"]
        no_origin = client.post("/v1/sessions")
        assert no_origin.status_code == 403
        # from the page itself (its Origin and the header its scripts add) the request
        # reaches the API, which has no such change: 405
        page_headers = {"origin": with_users.ui_url, "x-agentmon-csrf": "1"}
        own = client.post("/v1/sessions", headers=page_headers)
        assert own.status_code == 405


def test_the_log_out_link_shows_only_with_a_session(tmp_path: Path) -> None:
    open_server = start_embedded(tmp_path / "open")
    try:
        page = httpx.get(open_server.ui_url + "/")
        assert page.status_code == 200 and "Log out" not in page.text
    finally:
        open_server.stop()
    keys = make_keys(Settings(data_dir=tmp_path / "keyed"))
    keyed = start_embedded(tmp_path / "keyed")
    try:
        by_bearer = httpx.get(keyed.ui_url + "/", headers={"authorization": f"Bearer {keys[READ]}"})
        assert by_bearer.status_code == 200 and "Log out" not in by_bearer.text
        with httpx.Client(base_url=keyed.ui_url) as client:
            assert log_in(client, keys[ADMIN]).status_code == 303
            assert 'href="/logout">Log out</a>' in client.get("/").text
    finally:
        keyed.stop()


def setup_link(server: ServerProcess) -> str:
    found: list[str] = []

    def printed() -> bool:
        found[:] = re.findall(r"http://\S+/setup\?token=[\w-]+", server.log())
        return bool(found)

    wait_until(printed, 15, "the setup link printed")
    return found[0]


def test_the_first_admin_is_created_once_from_the_printed_setup_link(tmp_path: Path) -> None:
    server = start_embedded(tmp_path / "data")
    try:
        link = setup_link(server)
        assert link.startswith(server.ui_url + "/setup?token=")
        assert httpx.get(server.ui_url + "/v1/sessions").status_code == 200  # open until then
        with httpx.Client(base_url=server.ui_url, timeout=60) as client:
            assert client.get("/setup?token=guessed").status_code == 403
            page = client.get(link)
            assert page.status_code == 200 and 'name="again"' in page.text
            csrf = client.cookies["agentmon_csrf"]
            token = link.rsplit("=", 1)[1]
            form = {"user": "root", "password": PASSWORD, "again": "different!!", "csrf": csrf}
            differs = client.post(
                "/setup", data={**form, "token": token}, headers={"origin": server.ui_url}
            )
            assert differs.status_code == 400 and "The two passwords differ." in differs.text
            form["again"] = PASSWORD
            made = client.post(
                "/setup", data={**form, "token": token}, headers={"origin": server.ui_url}
            )
            assert made.status_code == 303 and "agentmon_session=" in made.headers["set-cookie"]
            assert client.get("/v1/admin/users").json()["users"][0]["name"] == "root"
        assert httpx.get(server.ui_url + "/v1/sessions").status_code == 401
        again = httpx.get(link)
        assert again.status_code == 410 and "Setup is done" in again.text
        assert re.search(r"^root\s+admin\s", users_cli(tmp_path / "data", "list").stdout, re.M)
        assert '"via":"setup-link"' in server.log()
    finally:
        server.stop()


def test_no_setup_link_once_a_credential_exists(tmp_path: Path) -> None:
    add_user(tmp_path / "data", "alice", "admin")
    server = start_embedded(tmp_path / "data")
    try:
        time.sleep(1.0)
        assert "/setup?token=" not in server.log()
    finally:
        server.stop()


HOSTILE_FORMS: list[dict[str, str]] = [
    {"user": "alice", "password": "x" * 5000},
    {"user": "alice\x00", "password": PASSWORD},
    {"user": "a" * 3000, "password": PASSWORD},
    {"user": "", "password": ""},
    {"user": "alice", "password": "\x00\n\r\u202e"},
    {"key": "amk_zzzzzzzz_" + "y" * 50},
    {"key": "ams_" + "z" * 60},
    {"key": "\x00" * 100},
]
FORM = "application/x-www-form-urlencoded"


def test_hostile_login_and_setup_forms_get_4xx_never_5xx(with_users: ServerProcess) -> None:
    # last in this module: its failed logins throttle this address for a minute
    origin = {"origin": with_users.ui_url}
    with httpx.Client(base_url=with_users.ui_url, timeout=60) as client:
        for form in HOSTILE_FORMS:
            answer = client.post(
                "/login", data={**form, "csrf": login_form(client)}, headers=origin
            )
            assert 400 <= answer.status_code < 500, (form, answer.status_code)
        csrf = login_form(client).encode()
        for raw in (b"user=alice&password=%ff%fe%00", b"user=%ff&user=%00&password=&csrf="):
            answer = client.post(
                "/login", content=raw + b"&csrf=" + csrf, headers={**origin, "content-type": FORM}
            )
            assert 400 <= answer.status_code < 500, (raw, answer.status_code)
        huge = client.post(
            "/login",
            content=b"user=alice&password=" + b"p" * 100_000,
            headers={
                "origin": with_users.ui_url,
                "content-type": "application/x-www-form-urlencoded",
            },
        )
        assert huge.status_code == 403  # cut at 8 KiB, so no CSRF token: refused
        garbage = client.post(
            "/login",
            content=b"\xff\xfe%%%&&&==",
            headers={"origin": with_users.ui_url},
        )
        assert garbage.status_code == 403
        for token in ("", "x" * 5000, "%00", "../../etc"):
            setup = client.get("/setup", params={"token": token})
            assert setup.status_code == 410  # credentials exist: setup is over
        setup_post = client.post(
            "/setup",
            data={
                "token": "x",
                "user": "eve",
                "password": PASSWORD,
                "again": PASSWORD,
                "csrf": login_form(client),
            },
            headers={"origin": with_users.ui_url},
        )
        assert setup_post.status_code == 410
    for cookie in ("ams_" + "q" * 60, "x" * 4000, "ams_\x7f", ""):
        answer = httpx.get(
            with_users.ui_url + "/v1/sessions", headers={"cookie": f"agentmon_session={cookie}"}
        )
        assert answer.status_code in (400, 401), (cookie, answer.status_code)


@pytest.mark.services
def test_distributed_a_user_logs_in_at_the_web_ui_and_the_query_api_honours_the_session(
    tmp_path: Path, database_url: str
) -> None:
    """Users and sessions in PostgreSQL: the web UI (its own process) logs a user in, its
    proxy forwards the session token, and the query API (another process) takes the role."""
    from tests.conftest import free_ports, start_agentmon

    env = {"DATABASE_URL": database_url}
    for name, role in (("alice", "admin"), ("victor", "viewer")):
        added = subprocess.run(
            [sys.executable, "-m", "agentmon", "users", "add", name, "--role", role],
            env={**os.environ, **env},
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
    ports = dict(zip(("query", "ui"), free_ports(2), strict=True))
    query = start_agentmon(
        ["query-api", "--addr", f"127.0.0.1:{ports['query']}"],
        {"query": ports["query"]},
        tmp_path / "query.log",
        env,
    )
    ui = start_agentmon(
        [
            "web-ui",
            "--addr",
            f"127.0.0.1:{ports['ui']}",
            "--query-base",
            f"http://127.0.0.1:{ports['query']}",
        ],
        {"ui": ports["ui"]},
        tmp_path / "ui.log",
        env,
    )
    try:
        for name, admin_status in (("victor", 403), ("alice", 200)):
            with httpx.Client(base_url=ui.ui_url, timeout=60) as client:
                wait_until(functools.partial(login_page_up, client), 30, "the UI's store")
                assert password_login(client, name, PASSWORD).status_code == 303
                assert client.get("/v1/sessions").status_code == 200
                assert client.get("/v1/admin/users").status_code == admin_status
                out = client.post(
                    "/logout", data={"csrf": login_form(client)}, headers={"origin": ui.ui_url}
                )
                assert out.status_code == 303
                assert client.get("/v1/sessions").status_code == 401
    finally:
        ui.stop()
        query.stop()


def login_page_up(client: httpx.Client) -> bool:
    return client.get("/login").status_code == 200
