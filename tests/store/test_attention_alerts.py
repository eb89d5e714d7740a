"""The webhook hears of a session becoming stuck, looping or lost once, on both stores."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.store.test_attention import ev, loops, lost_and_not, stuck_and_not

from agentmon.alerts import AlertNotifier
from agentmon.store import Store


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


async def until(condition: Any, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_stuck_looping_and_lost_alert_once_each(
    store: Store, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    await store.write(stuck_and_not() + loops() + lost_and_not())
    notifier = AlertNotifier(url, cooldown_s=600)
    tasks = [
        asyncio.create_task(notifier.run()),
        asyncio.create_task(notifier.watch(store, interval_s=0.1)),
    ]
    try:
        await until(lambda: len(received) >= 7)  # and vm_down `off`, vm_silent `silent`
        await asyncio.sleep(0.5)  # several more polls: nothing new
        alerted = sorted((a["kind"], a["session_id"]) for a in received if a["session_id"])
        assert alerted == [
            ("looping", "err-loop"),
            ("looping", "loop"),
            ("lost", "on-off"),
            ("lost", "on-silent"),
            ("stuck", "st"),
        ]
        stuck = next(a for a in received if a["kind"] == "stuck")
        assert "has a run open with no event" in stuck["text"] and stuck["host"] == "laptop"
        await store.write([ev("run.start", 599, session="four", run_id="four-r2")])
        await store.write([ev("span.end", 599, session="st", run_id="st-r", span_id="late")])
        await asyncio.sleep(0.5)  # `st` recovered: no alert for it or anyone else
        assert len(received) == 7
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_processors_on_one_store_send_each_alert_once(
    store: Store, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    await store.write(stuck_and_not() + loops() + lost_and_not())
    notifiers = [AlertNotifier(url, cooldown_s=600), AlertNotifier(url, cooldown_s=600)]
    tasks = [asyncio.create_task(n.run()) for n in notifiers]
    tasks += [asyncio.create_task(n.watch(store, interval_s=0.1)) for n in notifiers]
    try:
        await until(lambda: len(received) >= 7)
        await asyncio.sleep(1.0)  # both have polled many times by now
        alerted = sorted((a["kind"], a["session_id"] or a["vm"]) for a in received)
        assert alerted == sorted(set(alerted)) and len(alerted) == 7
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
