"""The alert history on both stores: every alert raised is recorded once with its delivery,
VM alerts (down, silent, disk, memory) fire on entering the state, and two processors on one
store record and send each alert once."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.store.test_attention import at, ev, lost_and_not, stuck_and_not
from tests.store.test_attention_alerts import until, webhook

from agentmon.alerts import AlertNotifier, VmThresholds, vm_alerts
from agentmon.events import Envelope, new_event
from agentmon.store import Store
from agentmon.store.alert_history import AlertFilters, acknowledge, alerts, record
from agentmon.store.queries import NotFound

__all__ = ["webhook"]  # the receiver fixture, shared with the attention alert tests


def snapshot(name: str, t: float, **payload: Any) -> Envelope:
    return new_event(
        "openclaw.snapshot",
        framework="openclaw",
        client_id=name,
        host=name,
        ts=at(t),
        payload={"instance": name, "state": "running", **payload},
    )


def vm_fleet() -> list[Envelope]:
    """`full`: disk 95%; `hot`: memory 97%; `off`: shut off; `silent`: quiet 8 min;
    `fine`: running at 40%; `unsure`: the monitor cannot tell its state."""
    return [
        snapshot("full", 590, disk={"pct": 95.0}, memory={"pct": 20}),
        snapshot("hot", 590, memory={"pct": 97}),
        snapshot("off", 590, state="shutoff"),
        snapshot("silent", 120, disk={"pct": 99}),
        snapshot("fine", 590, disk={"pct": 40}, memory={"pct": 40}),
        snapshot("unsure", 590, state="unknown"),
    ]


async def test_records_filter_page_and_acknowledge(store: Store) -> None:
    first = await record(store, "stuck", "session", "s1", "s1 is stuck", "pending", 1_000)
    second = await record(store, "vm_disk", "vm", "full", "disk 95%", "no_webhook", 2_000)
    third = await record(store, "budget", "budget", "agent:day:a", "over", "delivered", 3_000)
    assert first < second < third
    assert [r["id"] for r in await alerts(store, AlertFilters(), 10)] == [third, second, first]
    assert [r["id"] for r in await alerts(store, AlertFilters(kind="vm_disk"), 10)] == [second]
    assert [r["id"] for r in await alerts(store, AlertFilters(since_ms=2_000), 10)] == [
        third,
        second,
    ]
    assert [r["id"] for r in await alerts(store, AlertFilters(before_id=third), 1)] == [second]
    acked = await acknowledge(store, second, "ana", now_ms=5_000)
    assert (acked["acked_by"], acked["acked_ms"]) == ("ana", 5_000)
    again = await acknowledge(store, second, "bob", now_ms=6_000)
    assert again["acked_by"] == "ana"  # the first acknowledgement stays
    assert [r["id"] for r in await alerts(store, AlertFilters(acknowledged=True), 10)] == [second]
    assert [r["id"] for r in await alerts(store, AlertFilters(acknowledged=False), 10)] == [
        third,
        first,
    ]
    try:
        await acknowledge(store, third + 100, "ana")
        raise AssertionError("acknowledged an alert that does not exist")
    except NotFound as exc:
        assert str(third + 100) in str(exc)


def test_vm_alerts_read_the_latest_snapshot() -> None:
    limits = VmThresholds(disk_pct=90, memory_pct=95, silent_after_ms=300_000)
    now = 1_000_000_000
    row = {"name": "vm1", "ts": now, "snapshot": '{"state": "running", "disk": {"pct": 90}}'}
    assert [a.kind for a in vm_alerts(row, now, limits)] == ["vm_disk"]
    row["snapshot"] = '{"state": "paused", "memory": {"pct": 94.9}}'
    assert [a.kind for a in vm_alerts(row, now, limits)] == ["vm_down"]
    row["snapshot"] = '{"state": "running", "disk": {"pct": "full"}, "memory": 99}'
    assert vm_alerts(row, now, limits) == []  # malformed figures raise nothing
    row["snapshot"] = "not json"
    assert vm_alerts(row, now, limits) == []
    silent = vm_alerts({**row, "ts": now - 600_000}, now, limits)
    assert [a.kind for a in silent] == ["vm_silent"] and "10 min" in silent[0].text


async def test_vm_alerts_fire_once_on_entering_and_are_recorded(store: Store) -> None:
    await store.write(vm_fleet())
    notifier = AlertNotifier(None, cooldown_s=600, store=store)
    task = asyncio.create_task(notifier.run())
    try:
        assert await notifier.check_vms(store) == 4
        assert await notifier.check_vms(store) == 0  # still in those states: nothing new
        await until(lambda: notifier._queue.empty())
        await asyncio.sleep(0.2)
        rows = await alerts(store, AlertFilters(), 50)
        assert sorted((r["kind"], r["subject"]) for r in rows) == [
            ("vm_disk", "full"),
            ("vm_down", "off"),
            ("vm_memory", "hot"),
            ("vm_silent", "silent"),
        ]
        assert {r["subject_type"] for r in rows} == {"vm"}
        assert {r["delivery"] for r in rows} == {"no_webhook"}
        disk = next(r for r in rows if r["kind"] == "vm_disk")
        assert disk["message"] == "VM full disk is 95% used (alert at 90%)"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_two_processors_record_and_send_each_alert_once(
    store: Store, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    await store.write(stuck_and_not() + lost_and_not() + vm_fleet())
    notifiers = [AlertNotifier(url, cooldown_s=600, store=store) for _ in range(2)]
    tasks = [asyncio.create_task(n.run()) for n in notifiers]
    tasks += [asyncio.create_task(n.watch(store, interval_s=0.1)) for n in notifiers]
    failed_run = ev("run.end", 599, session="boom", run_id="boom-r", payload={"status": "error"})
    try:
        for notifier in notifiers:  # both see the event: only one claims it
            notifier.observe([failed_run])
        await until(lambda: len(received) >= 8)
        await asyncio.sleep(1.0)  # both have polled many times by now
        alerted = sorted((a["kind"], a["session_id"] or a.get("vm")) for a in received)
        assert alerted == sorted(set(alerted)) and len(alerted) == 8, alerted
        rows = await alerts(store, AlertFilters(), 50)
        assert sorted((r["kind"], r["subject"]) for r in rows) == alerted
        await until(lambda: False, 0.5)
        delivered = await alerts(store, AlertFilters(), 50)
        assert {r["delivery"] for r in delivered} == {"delivered"}
        assert all(r["delivered_ms"] for r in delivered)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_failed_delivery_is_recorded(store: Store) -> None:
    notifier = AlertNotifier("http://127.0.0.1:9/nobody", cooldown_s=600, store=store)
    task = asyncio.create_task(notifier.run())
    try:
        notifier.observe([ev("error", 599, session="e1", payload={"message": "disk full"})])
        rows: list[Any] = []

        async def failed() -> bool:
            rows[:] = await alerts(store, AlertFilters(), 5)
            return bool(rows) and rows[0]["delivery"] == "failed"

        for _ in range(100):
            if await failed():
                break
            await asyncio.sleep(0.05)
        assert [(r["kind"], r["subject"], r["delivery"]) for r in rows] == [
            ("error", "e1", "failed")
        ]
        assert "disk full" in rows[0]["message"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
