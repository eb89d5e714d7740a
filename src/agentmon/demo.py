"""Demo traffic: a day of plausible agent sessions, then a live trickle, so a first start
shows a living system. Every demo event carries `attributes.demo = true`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agentmon.client.sink import Sink
from agentmon.events import Envelope, EventType, format_ts, new_event, new_id

log = logging.getLogger("agentmon.demo")


@dataclass(frozen=True)
class Agent:
    framework: str
    host: str
    model: str
    tools: tuple[str, ...]


AGENTS = (
    Agent(
        "openclaw", "zap", "claude-sonnet-4-6", ("exec", "web_fetch", "read", "write", "browser")
    ),
    Agent("openclaw", "orb", "gpt-5.4", ("exec", "web_search", "read", "message")),
    Agent("openclaw", "sun", "claude-sonnet-4-6", ("exec", "read", "cron", "web_fetch")),
    Agent(
        "claude-code", "ada-laptop", "claude-sonnet-4-6", ("Bash", "Read", "Edit", "Grep", "Write")
    ),
    Agent("codex", "devbox-1", "gpt-5.4", ("Bash", "apply_patch", "web_search")),
    Agent(
        "gemini-cli", "devbox-2", "gemini-2.5-pro", ("run_shell_command", "read_file", "replace")
    ),
    Agent(
        "hermes",
        "hermes-vm",
        "anthropic/claude-sonnet-4.6",
        ("terminal", "web_search", "read_file"),
    ),
)

PROMPTS = (
    "Fix the failing test in tests/test_parse.py",
    "Summarize today's calendar and draft replies",
    "Rename foo to bar and update the call sites",
    "Why is the nightly backup job slow?",
    "Add pagination to the /v1/items endpoint",
    "Check the staging deploy and roll back if unhealthy",
    "Write a migration that adds an index on orders.created_at",
    "Find out why the CI cache misses on every run",
)

TOOL_OUTPUTS = {
    "ok": ("1 passed in 0.33s", "wrote 42 lines", "3 matches", "HTTP 200, 18 kB", "done"),
    "error": (
        "Command exited with code 1",
        "File does not exist.",
        "getaddrinfo ENOTFOUND example.invalid",
        "permission denied",
    ),
}


class SessionScript:
    """Builds the timed events of one session."""

    def __init__(self, agent: Agent, start: datetime, rng: random.Random, live: bool) -> None:
        self.agent, self.rng, self.live = agent, rng, live
        self.session_id = new_id()
        self.clock = start
        self.events: list[Envelope] = []

    def event(self, kind: EventType, **fields: Any) -> None:
        self.events.append(
            new_event(
                kind,
                framework=self.agent.framework,
                host=self.agent.host,
                client_id=self.agent.host,
                session_id=self.session_id,
                ts=self.clock,
                attributes={"demo": True},
                **fields,
            )
        )

    def wait(self, low: float, high: float) -> None:
        self.clock += timedelta(seconds=self.rng.uniform(low, high))

    def build(self) -> list[Envelope]:
        rng = self.rng
        prompt = rng.choice(PROMPTS)
        self.event(EventType.SESSION_START, payload={"title": prompt, "model": self.agent.model})
        for turn in range(rng.randint(1, 4)):
            self.run(prompt if turn == 0 else rng.choice(PROMPTS))
            self.wait(5, 90)
        if self.live and rng.random() < 0.3:
            self.event(
                EventType.METRIC_SNAPSHOT,
                payload={
                    "agent_state": "waiting_for_human",
                    "waiting_reason": "permission_prompt",
                    "message": "Allow Bash: rm -rf build/ ?",
                },
            )
        elif rng.random() < 0.8:
            self.event(EventType.SESSION_END, payload={"reason": "prompt_input_exit"})
        return self.events

    def run(self, prompt: str) -> None:
        run_id = new_id()
        self.event(
            EventType.RUN_START, run_id=run_id, payload={"input": prompt, "model": self.agent.model}
        )
        failed = False
        for _ in range(self.rng.randint(1, 5)):
            self.model_call(run_id)
            for _ in range(self.rng.randint(0, 3)):
                failed = self.tool_call(run_id) or failed
        self.model_call(run_id)
        status = "error" if failed and self.rng.random() < 0.15 else "ok"
        self.event(
            EventType.RUN_END,
            run_id=run_id,
            payload={"status": status, "output": "Done. " + prompt.split(" ", 1)[-1]},
        )

    def model_call(self, run_id: str) -> None:
        span_id, model = new_id(), self.agent.model
        llm = {"kind": "llm", "name": model}
        self.event(EventType.SPAN_START, run_id=run_id, span_id=span_id, payload=llm)
        self.wait(0.6, 6.0)
        usage = {
            "input_tokens": self.rng.randint(800, 24_000),
            "output_tokens": self.rng.randint(40, 1_500),
            "cache_read_tokens": self.rng.randint(0, 60_000),
        }
        self.event(
            EventType.SPAN_END,
            run_id=run_id,
            span_id=span_id,
            payload={**llm, "model": model, "status": "ok", "usage": usage},
        )
        # no cost_usd: the demo's costs are estimated by the same price path as real ones
        self.event(
            EventType.METRIC_SNAPSHOT, run_id=run_id, payload={"usage": usage, "model": model}
        )

    def tool_call(self, run_id: str) -> bool:
        span_id, tool = new_id(), self.rng.choice(self.agent.tools)
        started = self.clock
        self.event(
            EventType.SPAN_START,
            run_id=run_id,
            span_id=span_id,
            payload={"kind": "tool", "name": tool, "input": {"command": f"{tool} …"}},
        )
        self.wait(0.02, 8.0)
        failed = self.rng.random() < 0.07
        status = "error" if failed else "ok"
        payload: dict[str, Any] = {
            "kind": "tool",
            "name": tool,
            "status": status,
            "output": self.rng.choice(TOOL_OUTPUTS[status]),
            "duration_ms": round((self.clock - started).total_seconds() * 1000, 1),
        }
        if failed:
            payload["error"] = payload["output"]
        self.event(EventType.SPAN_END, run_id=run_id, span_id=span_id, payload=payload)
        if failed:
            self.event(
                EventType.ERROR,
                run_id=run_id,
                span_id=span_id,
                payload={"message": f"{tool}: {payload['output']}", "kind": "tool"},
            )
        return failed


def vm_snapshot(name: str, rng: random.Random, at: datetime) -> Envelope:
    disk = 93.0 if name == "sun" else rng.uniform(35, 60)
    memory = rng.uniform(30, 75)
    issues = []
    if disk > 90:
        issues.append(
            {"severity": "critical", "code": "disk_high", "message": f"disk {disk:.0f}% used"}
        )
    payload = {
        "instance": name,
        "state": "running",
        "uptime_s": 86_400 * 3 + rng.randint(0, 3600),
        "vcpus": 2,
        "cpu_pct": round(rng.uniform(3, 65), 1),
        "memory": {
            "assigned_kb": 4_194_304,
            "used_kb": int(4_194_304 * memory / 100),
            "pct": round(memory, 1),
        },
        "disk": {
            "used_bytes": int(40e9 * disk / 100),
            "total_bytes": int(40e9),
            "pct": round(disk, 1),
            "mount": "/",
        },
        "load": [round(rng.uniform(0, 2), 2) for _ in range(3)],
        "net": {
            "rx_bps": round(rng.uniform(2e3, 4e5), 1),
            "tx_bps": round(rng.uniform(1e3, 1e5), 1),
            "rx_errs": 0,
            "tx_errs": 0,
        },
        "gateway": {
            "url": f"http://{name}.demo:18789/",
            "up": True,
            "latency_ms": round(rng.uniform(4, 40), 1),
            "status_code": 200,
        },
        "services": {"openclaw-gateway": "active"},
        "checks": {"libvirt": "ok", "ssh": "ok", "gateway": "ok"},
        "issues": issues,
    }
    return new_event(
        EventType.OPENCLAW_SNAPSHOT,
        framework="openclaw",
        client_id=name,
        host=name,
        payload=payload,
        attributes={"demo": True},
        ts=at,
    )


class DemoTraffic:
    def __init__(
        self,
        sink: Sink,
        *,
        backfill_hours: float = 24,
        sessions_per_hour: float = 6,
        seed: int | None = None,
    ) -> None:
        self.sink = sink
        self.backfill_hours = backfill_hours
        self.sessions_per_hour = sessions_per_hour
        self.rng = random.Random(seed)
        self._pending: list[tuple[float, int, Envelope]] = []
        self._order = itertools.count()

    async def run(self) -> None:
        await self.backfill()
        await self.live()

    async def backfill(self) -> None:
        now = datetime.now(UTC)
        count = int(self.backfill_hours * self.sessions_per_hour)
        events: list[Envelope] = []
        for _ in range(count):
            start = now - timedelta(hours=self.rng.uniform(0.5, self.backfill_hours))
            events += SessionScript(self.rng.choice(AGENTS), start, self.rng, live=False).build()
        minutes = int(self.backfill_hours * 60)
        for minute in range(0, minutes, 5):
            at = now - timedelta(minutes=minutes - minute)
            events += [vm_snapshot(name, self.rng, at) for name in ("zap", "orb", "sun")]
        past = [e for e in events if e.event.ts <= format_ts(now)]
        for offset in range(0, len(past), 1000):
            await self._deliver(past[offset : offset + 1000])
        log.info("demo: backfilled %d events over %.0f h", len(past), self.backfill_hours)

    async def live(self) -> None:
        next_session = next_vm = time.time()
        while True:
            now = time.time()
            if now >= next_session:
                agent = self.rng.choice(AGENTS)
                for event in SessionScript(agent, datetime.now(UTC), self.rng, live=True).build():
                    self._schedule(event)
                next_session = now + self.rng.uniform(8, 25)
            if now >= next_vm:
                for name in ("zap", "orb", "sun"):
                    self._schedule(vm_snapshot(name, self.rng, datetime.now(UTC)))
                next_vm = now + 15
            due = self._due(now)
            if due:
                await self._deliver(due)
            await asyncio.sleep(0.5)

    async def _deliver(self, events: list[Envelope]) -> None:
        """Demo traffic is best effort: a refused batch is logged, never fatal."""
        try:
            await self.sink(events)
        except Exception as exc:
            log.warning("demo: could not deliver %d events: %s", len(events), exc)

    def _schedule(self, event: Envelope) -> None:
        moment = datetime.fromisoformat(event.event.ts[:-1] + "+00:00").timestamp()
        heapq.heappush(self._pending, (moment, next(self._order), event))

    def _due(self, now: float) -> list[Envelope]:
        due = []
        while self._pending and self._pending[0][0] <= now:
            due.append(heapq.heappop(self._pending)[2])
        return due
