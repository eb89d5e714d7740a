"""The test ports of tests/conftest.py: held until the test ends, so nothing else is given
them in the meantime, yet the server they were chosen for binds them."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from tests.conftest import free_port, free_ports


def _bound_to_port_zero(reuse: bool) -> int:
    with socket.socket() as sock:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("reuse", [False, True])
def test_no_bind_to_port_zero_is_given_a_chosen_port(reuse: bool) -> None:
    # 64 of about 28,000 ephemeral ports: 4,000 binds would land on one ~9 times if released
    chosen = set(free_ports(64))
    assert len(chosen) == 64
    assert not chosen & {_bound_to_port_zero(reuse) for _ in range(4000)}


def test_a_chosen_port_refuses_connections_until_its_server_binds_it() -> None:
    """What the hold must not change: a chosen port is a closed port, and its server, in
    another process, binds it while it is held."""
    port = free_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    listen = f"import socket, sys; socket.create_server(('0.0.0.0', {port})); sys.exit(0)"
    server = subprocess.run([sys.executable, "-c", listen], capture_output=True, text=True)
    assert server.returncode == 0, server.stderr
