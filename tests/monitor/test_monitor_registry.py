from __future__ import annotations

from pathlib import Path

import pytest

from agentmon.monitor.registry import (
    DEFAULT_LIBVIRT_URI,
    EntryError,
    GatewayTarget,
    LibvirtTarget,
    RegistryWatcher,
    SshTarget,
    parse_registry,
)

FULL_ENTRY = {
    "name": "zap",
    "libvirt": {"uri": "qemu:///system", "domain": "zap-vm"},
    "ssh": {"host": "192.168.122.10", "port": 2222, "user": "openclaw", "key": "~/.ssh/id_ed25519"},
    "gateway": {"url": "http://192.168.122.10:18789/"},
    "services": ["openclaw-gateway", "openclaw-gateway"],
    "colour": "ignored",
}


def test_full_entry_is_read_with_unknown_keys_ignored() -> None:
    (spec,) = parse_registry({"instances": [FULL_ENTRY], "version": 3}).instances
    assert spec.name == "zap"
    assert spec.libvirt == LibvirtTarget("qemu:///system", "zap-vm")
    assert spec.ssh == SshTarget(
        host="192.168.122.10",
        port=2222,
        user="openclaw",
        key=Path("~/.ssh/id_ed25519").expanduser(),
    )
    assert spec.gateway == GatewayTarget("http://192.168.122.10:18789/")
    assert spec.services == ("openclaw-gateway",)
    assert spec.problems == ()


def test_bare_list_and_defaults() -> None:
    registry = parse_registry([{"name": "orb"}, {"name": "sun", "libvirt": False}])
    orb, sun = registry.instances
    assert orb.libvirt == LibvirtTarget(DEFAULT_LIBVIRT_URI, "orb")
    assert (orb.ssh, orb.gateway, orb.services) == (None, None, ())
    assert sun.libvirt is None


def test_ssh_defaults_and_host_key_choice() -> None:
    spec = parse_registry([{"name": "a", "ssh": {"host": "h"}}]).instances[0]
    assert spec.ssh == SshTarget(host="h", port=22, user=None, key=None)
    assert spec.ssh.verify_host_key
    unchecked = parse_registry([{"name": "b", "ssh": {"host": "h", "known_hosts": None}}])
    assert unchecked.instances[0].ssh is not None
    assert not unchecked.instances[0].ssh.verify_host_key


def test_bad_parts_become_problems_and_the_rest_is_kept() -> None:
    registry = parse_registry(
        [
            {"name": "a", "ssh": {"host": "h", "port": "22"}, "gateway": {"url": "http://g/"}},
            {"name": "b", "gateway": "ftp://nope", "libvirt": 7},
            {"name": "c", "services": ["x"]},
        ]
    )
    a, b, c = registry.instances
    assert a.ssh is None and a.gateway == GatewayTarget("http://g/")
    assert a.problems == ("ssh: 'port' must be a TCP port number, got '22'",)
    assert b.gateway is None and b.libvirt is None
    assert len(b.problems) == 2
    assert c.problems == ("services: checking services needs a usable 'ssh' section",)


def test_entries_without_names_and_duplicates() -> None:
    registry = parse_registry([{"name": " "}, "zap", {"name": "zap"}, {"name": "zap"}])
    assert [spec.name for spec in registry.instances] == ["zap"]
    assert len(registry.unnamed_problems) == 2
    assert registry.instances[0].problems == ("entry #3 repeats the name 'zap' and is ignored",)


def test_a_document_that_is_no_list_is_refused() -> None:
    with pytest.raises(EntryError):
        parse_registry({"zap": {}})


def test_watcher_reloads_on_change_and_keeps_the_last_good_registry(registry_file) -> None:
    watcher = RegistryWatcher(registry_file.path)
    assert watcher.current().instances == ()
    assert watcher.error is not None and "not found" in watcher.error

    registry_file.write([{"name": "zap"}])
    assert [s.name for s in watcher.current().instances] == ["zap"]
    assert watcher.error is None

    registry_file.write([{"name": "zap"}, {"name": "orb"}])
    assert [s.name for s in watcher.current().instances] == ["zap", "orb"]

    registry_file.path.write_text("{not json")
    assert [s.name for s in watcher.current().instances] == ["zap", "orb"]
    assert watcher.error is not None and "unusable" in watcher.error
