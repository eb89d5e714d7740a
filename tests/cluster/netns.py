"""Hosts for the cluster test: Linux network namespaces joined by veth pairs to one bridge.

Each host is a namespace with one address on a private /24 that exists only inside this
test (the bridge in the root namespace holds .1, so the test process reaches every host).
Everything is removed on close, processes first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def as_user_argv(user: str) -> list[str]:
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


def netns_usable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"amprobe{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"`ip netns add` failed: {exc.stderr.decode().strip()}"
    _ip("netns", "del", probe)
    return None


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, argv: Sequence[str], log: Path, env: dict[str, str], user: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Run `argv` inside this host's namespace (`ip netns exec` and `setpriv` exec it: the
        pid is the program's own, so kill -9 hits the program)."""
        as_user = as_user_argv(user) if user else []
        out: IO[bytes] = log.open("ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *as_user, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.processes.append(process)
        return process


class Network:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:5]
        self.tag = tag
        # a private /24 chosen per run, so parallel runs do not collide; only our namespaces use it
        seed = int(tag, 16)
        self.prefix = f"10.{200 + seed % 50}.{seed % 250}."
        self.bridge = f"amb{tag}"
        self.hosts: dict[str, Host] = {}
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.prefix}1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add(self, name: str) -> Host:
        index = len(self.hosts) + 10
        namespace, outside, inside = f"am{self.tag}-{name}", f"am{self.tag}o{index}", "eth0"
        address = f"{self.prefix}{index}"
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", f"am{self.tag}i{index}")
        _ip("link", "set", f"am{self.tag}i{index}", "netns", namespace)
        _ip("-n", namespace, "link", "set", f"am{self.tag}i{index}", "name", inside)
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        host = Host(name, namespace, address)
        self.hosts[name] = host
        return host

    def close(self) -> None:
        """Stop every process (SIGINT: a fast shutdown for PostgreSQL too, then SIGKILL), all
        at once (host by host, their shutdowns added up), then remove the namespaces and the
        bridge."""
        hosts = list(reversed(self.hosts.values()))
        processes = [process for host in hosts for process in host.processes]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for host in hosts:
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
