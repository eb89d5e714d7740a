"""Secure by default, from a real `agentmon serve`: where each port listens (read off the
process's sockets), the refusal to expose a read port without a credential, the opt-out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from agentmon.config import Settings
from tests.auth.auth_support import make_keys
from tests.conftest import free_ports, start_agentmon


def serve(tmp_path: Path, ingest: int, query: str, ui: str) -> list[str]:
    return [
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--addr",
        f":{ingest}",
        "--otlp-addr",
        "",
        "--query-addr",
        query,
        "--ui-addr",
        ui,
    ]


def listening(pid: int) -> dict[int, str]:
    """{port: address} of the process's listening sockets."""
    sockets = psutil.Process(pid).net_connections(kind="tcp")
    return {s.laddr.port: s.laddr.ip for s in sockets if s.status == psutil.CONN_LISTEN}


def isolated(tmp_path: Path) -> dict[str, str]:
    return {"OPENCLAW_REGISTRY": str(tmp_path / "none.json"), "AGENTMON_API_KEY": ""}


def bound(tmp_path: Path, query_host: str, ui_host: str, *extra: str) -> tuple[list[str], str]:
    """Start `agentmon serve` with these hosts for the read ports; the addresses its query,
    UI and ingest sockets listen on (in that order) and its log."""
    ingest, query, ui = free_ports(3)
    args = [*serve(tmp_path, ingest, f"{query_host}:{query}", f"{ui_host}:{ui}"), *extra]
    server = start_agentmon(
        args, {"query": query, "ui": ui}, tmp_path / "serve.log", isolated(tmp_path)
    )
    try:
        addresses = listening(server.process.pid)
        return [addresses[query], addresses[ui], addresses[ingest]], server.log()
    finally:
        server.stop()


def test_without_a_credential_the_read_ports_listen_on_loopback_only(tmp_path: Path) -> None:
    addresses, log = bound(tmp_path, "", "")
    # the read ports stay on this machine; hooks on other machines keep reaching ingest
    assert addresses == ["127.0.0.1", "127.0.0.1", "0.0.0.0"]
    assert "listens on 127.0.0.1" in log


def test_with_a_key_the_read_ports_listen_everywhere(tmp_path: Path) -> None:
    make_keys(Settings(data_dir=tmp_path / "data"))
    addresses, _ = bound(tmp_path, "", "")
    assert addresses == ["0.0.0.0", "0.0.0.0", "0.0.0.0"]


def test_exposing_a_read_port_without_a_credential_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    ingest, query, ui = free_ports(3)
    args = serve(tmp_path, ingest, f"0.0.0.0:{query}", f"127.0.0.1:{ui}")
    result = subprocess.run(
        [sys.executable, "-m", "agentmon", *args],
        env={**isolated(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    refusal = [line for line in result.stderr.splitlines() if line.startswith("agentmon: ")]
    assert len(refusal) == 1, result.stderr
    assert "AGENTMON_QUERY_ADDR" in refusal[0] and "agentmon keys create" in refusal[0]


def test_the_insecure_opt_out_exposes_and_says_so(tmp_path: Path) -> None:
    addresses, log = bound(tmp_path, "0.0.0.0", "", "--insecure")
    assert addresses == ["0.0.0.0", "0.0.0.0", "0.0.0.0"]
    assert log.count("INSECURE:") == 2
