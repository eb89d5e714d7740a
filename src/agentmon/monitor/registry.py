"""The OpenClaw instance registry: which VMs to watch and how to reach them.

The file is JSON, either ``{"instances": [...]}`` or a bare list of instances. Each entry is
parsed on its own: a bad part of an entry becomes a problem recorded on that instance (and
that part is not checked); an entry without a usable name cannot be reported on, so it only
becomes a log line. `RegistryWatcher` re-reads the file whenever its mtime or size changes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LIBVIRT_URI = "qemu:///system"
DEFAULT_SSH_PORT = 22


@dataclass(frozen=True)
class LibvirtTarget:
    uri: str
    domain: str


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int = DEFAULT_SSH_PORT
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None
    """None: asyncssh's default (~/.ssh/known_hosts when it exists)."""
    verify_host_key: bool = True


@dataclass(frozen=True)
class GatewayTarget:
    url: str


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    libvirt: LibvirtTarget | None = None
    ssh: SshTarget | None = None
    gateway: GatewayTarget | None = None
    services: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """What was wrong with this entry in the registry; each becomes a bad_registry_entry issue."""


@dataclass(frozen=True)
class Registry:
    instances: tuple[InstanceSpec, ...] = ()
    unnamed_problems: tuple[str, ...] = field(default=())
    """Problems of entries that have no usable name (reported as log lines only)."""


class EntryError(ValueError):
    """One part of a registry entry is unusable; the message says why."""


def parse_registry(document: Any) -> Registry:
    """Turn the decoded registry JSON into instance specs; never raises for bad entries."""
    if isinstance(document, dict) and "instances" in document:
        entries = document["instances"]
    else:
        entries = document
    if not isinstance(entries, list):
        raise EntryError('the registry must be a list of instances or {"instances": [...]}')
    instances: dict[str, InstanceSpec] = {}
    unnamed: list[str] = []
    for index, entry in enumerate(entries):
        name = _entry_name(entry)
        if name is None:
            unnamed.append(f"entry #{index} has no usable 'name' and is ignored: {entry!r:.200}")
            continue
        if name in instances:
            first = instances[name]
            note = f"entry #{index} repeats the name {name!r} and is ignored"
            instances[name] = _with_problem(first, note)
            continue
        instances[name] = parse_entry(name, entry)
    return Registry(tuple(instances.values()), tuple(unnamed))


def _entry_name(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    name = entry.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    return None


def _with_problem(spec: InstanceSpec, problem: str) -> InstanceSpec:
    return replace(spec, problems=(*spec.problems, problem))


def parse_entry(name: str, entry: dict[str, Any]) -> InstanceSpec:
    problems: list[str] = []

    def part(key: str, parser: Any) -> Any:
        try:
            return parser(name, entry.get(key))
        except EntryError as exc:
            problems.append(f"{key}: {exc}")
            return None

    libvirt: LibvirtTarget | None = part("libvirt", _parse_libvirt)
    ssh: SshTarget | None = part("ssh", _parse_ssh)
    gateway: GatewayTarget | None = part("gateway", _parse_gateway)
    services: tuple[str, ...] = part("services", _parse_services) or ()
    if services and ssh is None:
        problems.append("services: checking services needs a usable 'ssh' section")
    return InstanceSpec(name, libvirt, ssh, gateway, services, tuple(problems))


def _parse_libvirt(name: str, value: Any) -> LibvirtTarget | None:
    """Checked by default (domain = the name, uri = qemu:///system); `false` turns it off."""
    if value is False:
        return None
    if value is None or value is True:
        value = {}
    if not isinstance(value, dict):
        raise EntryError(f"expected an object or false, got {value!r:.80}")
    uri = _optional_str(value, "uri") or DEFAULT_LIBVIRT_URI
    domain = _optional_str(value, "domain") or name
    return LibvirtTarget(uri=uri, domain=domain)


def _parse_ssh(name: str, value: Any) -> SshTarget | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EntryError(f"expected an object, got {value!r:.80}")
    host = _optional_str(value, "host")
    if not host:
        raise EntryError("'host' is required")
    port = value.get("port", DEFAULT_SSH_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise EntryError(f"'port' must be a TCP port number, got {port!r:.40}")
    key = _optional_str(value, "key")
    known_hosts = value.get("known_hosts", "")
    if known_hosts is not None and not isinstance(known_hosts, str):
        raise EntryError("'known_hosts' must be a path, or null to skip host key checks")
    return SshTarget(
        host=host,
        port=port,
        user=_optional_str(value, "user"),
        key=Path(key).expanduser() if key else None,
        known_hosts=Path(known_hosts).expanduser() if known_hosts else None,
        verify_host_key=known_hosts is not None,
    )


def _parse_gateway(name: str, value: Any) -> GatewayTarget | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise EntryError(f"expected an object with 'url', got {value!r:.80}")
    url = _optional_str(value, "url")
    if not url or not url.startswith(("http://", "https://")):
        raise EntryError(f"'url' must be an http(s) URL, got {url!r}")
    return GatewayTarget(url=url)


def _parse_services(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise EntryError(f"expected a list of unit names, got {value!r:.80}")
    return tuple(dict.fromkeys(s.strip() for s in value))


def _optional_str(section: dict[str, Any], key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EntryError(f"'{key}' must be a string, got {value!r:.40}")
    return value.strip() or None


class RegistryWatcher:
    """Holds the latest good registry and re-reads the file when it changes on disk.

    A missing or unreadable file, or one that is not valid JSON, is logged once per change;
    the last good registry stays in force until the file is fixed (none at the start).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.registry = Registry()
        self.error: str | None = None
        self._signature: tuple[float, int] | None = None
        self._loaded = False

    def current(self) -> Registry:
        signature = self._stat()
        if signature != self._signature or not self._loaded:
            self._loaded = True
            self._signature = signature
            self._reload(signature)
        return self.registry

    def _stat(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def _reload(self, signature: tuple[float, int] | None) -> None:
        if signature is None:
            self._fail(f"registry {self.path} not found")
            return
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            registry = parse_registry(document)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, EntryError) as exc:
            self._fail(f"registry {self.path} is unusable ({exc}); keeping the previous one")
            return
        self.registry, self.error = registry, None
        for problem in registry.unnamed_problems:
            log.warning("registry %s: %s", self.path, problem)
        for spec in registry.instances:
            for problem in spec.problems:
                log.warning("registry %s: instance %s: %s", self.path, spec.name, problem)
        log.info("registry %s: %d instance(s)", self.path, len(registry.instances))

    def _fail(self, message: str) -> None:
        self.error = message
        log.error("%s", message)
