"""Guest load, memory, disk, uptime and services over SSH, on connections kept open.

Each instance has at most one connection. It is opened on first use, reused by every later
poll, and closed (to be reopened on the next poll) whenever a poll fails or times out, so a
VM that reboots or a daemon that restarts costs one failed poll at most.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncssh

from agentmon.monitor.guest_stats import MARKER, GuestReport, guest_script, parse_guest_output
from agentmon.monitor.outcome import ProbeFailure
from agentmon.monitor.registry import SshTarget

log = logging.getLogger(__name__)


@dataclass
class _Link:
    target: SshTarget
    connection: asyncssh.SSHClientConnection


class SshProbe:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._links: dict[str, _Link] = {}
        self.connects = 0
        """How many connections were opened so far (each poll should not need one)."""

    async def report(
        self, name: str, target: SshTarget, services: tuple[str, ...]
    ) -> GuestReport | ProbeFailure:
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see MonitorService.run
                return await self._run(name, target, services)
        except TimeoutError:
            self.forget(name)
            return ProbeFailure(
                "ssh_unreachable", f"ssh {_where(target)}: no answer within {self.timeout:g}s"
            )
        except Exception as exc:  # every failure is reported on the instance
            self.forget(name)
            return classify_ssh_error(target, exc)

    async def _run(
        self, name: str, target: SshTarget, services: tuple[str, ...]
    ) -> GuestReport | ProbeFailure:
        if target.key is not None and not target.key.is_file():
            return ProbeFailure("ssh_auth_failed", f"ssh key file {target.key} not found")
        connection = await self._connection(name, target)
        result = await connection.run(guest_script(services), check=False)
        if not isinstance(result.stdout, str) or f"{MARKER}meminfo" not in result.stdout:
            stderr = str(result.stderr or "").strip()[:200]
            return ProbeFailure(
                "ssh_unreachable",
                f"ssh {_where(target)}: the guest commands failed (exit {result.exit_status}): "
                f"{stderr}",
            )
        return parse_guest_output(result.stdout, services)

    async def _connection(self, name: str, target: SshTarget) -> asyncssh.SSHClientConnection:
        link = self._links.get(name)
        if link is not None and link.target == target and not link.connection.is_closed():
            return link.connection
        self.forget(name)
        connection = await asyncssh.connect(
            target.host,
            port=target.port,
            username=target.user if target.user else (),
            client_keys=[str(target.key)] if target.key else (),
            agent_path=None if target.key else (),
            known_hosts=_known_hosts(target),
            connect_timeout=self.timeout,
            keepalive_interval=30,
        )
        self.connects += 1
        self._links[name] = _Link(target, connection)
        log.info("ssh %s: connected", _where(target))
        return connection

    def forget(self, name: str) -> None:
        link = self._links.pop(name, None)
        if link is not None:
            link.connection.close()

    async def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            link.connection.close()
        for link in links:
            await link.connection.wait_closed()


def _known_hosts(target: SshTarget) -> str | tuple[()] | None:
    if not target.verify_host_key:
        return None
    if target.known_hosts is not None:
        return str(target.known_hosts)
    return ()


def _where(target: SshTarget) -> str:
    user = f"{target.user}@" if target.user else ""
    return f"{user}{target.host}:{target.port}"


def classify_ssh_error(target: SshTarget, exc: Exception) -> ProbeFailure:
    where = _where(target)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, asyncssh.PermissionDenied):
        return ProbeFailure("ssh_auth_failed", f"ssh {where}: authentication refused ({detail})")
    if isinstance(exc, asyncssh.KeyImportError | asyncssh.KeyEncryptionError):
        return ProbeFailure("ssh_auth_failed", f"ssh {where}: unusable key {target.key}: {detail}")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return ProbeFailure(
            "ssh_host_key_rejected",
            f"ssh {where}: host key not trusted ({detail}); add it to known_hosts",
        )
    return ProbeFailure("ssh_unreachable", f"ssh {where}: {detail}")
