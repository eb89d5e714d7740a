from __future__ import annotations

import subprocess

from agentmon.monitor.guest_stats import (
    GuestCpu,
    GuestDisk,
    guest_script,
    parse_cpu,
    parse_df,
    parse_guest_output,
    parse_meminfo,
    parse_service,
)
from agentmon.monitor.rates import guest_cpu_pct


def test_the_real_script_on_this_machine_parses_completely() -> None:
    services = ("agentmon-no-such-unit", "it's; quoted")
    output = subprocess.run(
        ["sh", "-c", guest_script(services)], capture_output=True, text=True, check=False
    ).stdout
    report = parse_guest_output(output, services)
    assert report.load is not None and all(x >= 0 for x in report.load)
    assert report.memory is not None and 0 < report.memory.available_kb <= report.memory.total_kb
    assert report.uptime_s is not None and report.uptime_s > 0
    assert report.cpu is not None and 0 <= report.cpu.busy <= report.cpu.total
    assert report.disk is not None and report.disk.mount == "/" and report.disk.total_bytes > 0
    assert set(report.services) == set(services)
    assert all(state.state != "active" for state in report.services.values())


def test_df_line_wrapped_by_a_long_device_name() -> None:
    lines = [
        "Filesystem 1024-blocks Used Available Capacity Mounted on",
        "/dev/mapper/a-very-long-volume-group-name-root",
        "  1000 930 50 95% /",
    ]
    assert parse_df(lines) == GuestDisk("/", 1000 * 1024, 930 * 1024, 50 * 1024)
    assert parse_df(lines[:1]) is None
    disk = parse_df(lines)
    assert disk is not None and disk.pct == 94.9


def test_guest_cpu_share_between_two_readings() -> None:
    before = parse_cpu(["cpu  100 0 100 700 100 0 0 0 0 0"])
    after = parse_cpu(["cpu  200 0 150 900 150 0 0 0 0 0"])
    assert before == GuestCpu(busy=200, total=1000)
    assert guest_cpu_pct(before, after) == 37.5
    assert guest_cpu_pct(after, before) is None  # counters went back: the guest rebooted
    assert guest_cpu_pct(None, after) is None
    assert parse_cpu(["intr 1 2 3 4 5"]) is None


def test_meminfo_of_an_old_kernel_without_memavailable() -> None:
    memory = parse_meminfo(
        ["MemTotal: 1000 kB", "MemFree: 100 kB", "Buffers: 50 kB", "Cached: 150 kB"]
    )
    assert memory is not None and (memory.available_kb, memory.used_kb) == (300, 700)
    assert parse_meminfo(["garbage"]) is None


def test_service_states() -> None:
    assert parse_service(["active"]).state == "active"
    assert parse_service(["failed"]).state == "failed"
    odd = parse_service(["System has not been booted with systemd", "Failed to connect"])
    assert odd.state == "unknown" and "systemd" in odd.detail
    assert parse_service(None).state == "unknown"
