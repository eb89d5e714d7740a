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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentmon.client.sink import Sink
from agentmon.events import Envelope, EventType, format_ts, new_event, new_id

if TYPE_CHECKING:
    from agentmon.store.leftovers import Leftovers

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


@dataclass(frozen=True)
class Step:
    """One tool call of a task: what kind of tool (each framework names it its own way), its
    input and what it answers; `error` makes it the call that fails the run."""

    kind: str  # shell | read | edit | search | fetch
    input: dict[str, Any]
    output: str
    error: str | None = None


@dataclass(frozen=True)
class Task:
    """One coherent piece of work: the prompt, the calls it takes, the answer; and how it
    goes when it fails (the failing call replaces the calls from `fails_at` on)."""

    prompt: str
    steps: tuple[Step, ...]
    answer: str
    fails_at: int
    failure: Step
    failed_answer: str
    project: str = "/home/ada/src/app"  # the working directory its sessions report


def _shell(command: str, output: str, error: str | None = None) -> Step:
    return Step("shell", {"command": command}, output, error)


TASKS = (
    Task(
        "Fix the failing test in tests/test_parse.py",
        (
            Step(
                "read",
                {"path": "tests/test_parse.py"},
                "def test_leap_day(): assert parse('2024-02-30') is None",
            ),
            _shell("pytest tests/test_parse.py -q", "1 failed, 2 passed: test_leap_day"),
            Step(
                "edit",
                {"path": "src/parse.py", "old": "day <= 31", "new": "day <= days_in(month, year)"},
                "replaced 1 line",
            ),
            _shell("pytest tests/test_parse.py -q", "3 passed in 0.41s"),
        ),
        (
            "Fixed: parse() now rejects 2024-02-30 (it checked day <= 31); the 3 tests in "
            "tests/test_parse.py pass."
        ),
        1,
        _shell(
            "pytest tests/test_parse.py -q",
            "ModuleNotFoundError: No module named 'dateutil'",
            "ModuleNotFoundError: No module named 'dateutil'",
        ),
        (
            "Stopped: the tests cannot start, the module dateutil is missing. Install it (uv add "
            "python-dateutil) and ask again."
        ),
        "/home/ada/src/dateparse",
    ),
    Task(
        "Why is the nightly backup job slow?",
        (
            _shell(
                "journalctl -u backup --since yesterday",
                "backup.sh[812]: pg_dump finished in 47m12s",
            ),
            Step(
                "search",
                {"pattern": "pg_dump", "path": "scripts/"},
                "scripts/backup.sh:12: pg_dump --format=plain app",
            ),
        ),
        (
            "pg_dump writes one plain SQL file on one core (47 min last night). --format=directory "
            "--jobs=4 in scripts/backup.sh should bring it near 15 min."
        ),
        0,
        _shell(
            "journalctl -u backup --since yesterday",
            "permission denied",
            "journalctl: permission denied",
        ),
        "I could not read the backup job's logs: journalctl says permission denied for this user.",
        "/srv/ops/backup",
    ),
    Task(
        "Add pagination to the /v1/items endpoint",
        (
            Step(
                "read", {"path": "api/items.py"}, "def list_items(db): return db.query(Item).all()"
            ),
            Step(
                "edit",
                {"path": "api/items.py", "old": ".all()", "new": ".limit(limit).offset(offset)"},
                "replaced 3 lines",
            ),
            _shell("pytest tests/test_items.py -q", "12 passed in 1.9s"),
        ),
        (
            "/v1/items now takes limit (default 50, at most 500) and offset and says "
            "next_offset; the "
            "12 item tests pass."
        ),
        2,
        _shell(
            "pytest tests/test_items.py -q",
            "FAILED test_items.py::test_limit - assert 50 == 20",
            "AssertionError: assert 50 == 20",
        ),
        (
            "The endpoint pages now, but test_limit still expects 20 items per page: tell me which "
            "default you want."
        ),
        "/home/ada/src/shop-api",
    ),
    Task(
        "Check the staging deploy and roll back if unhealthy",
        (
            Step(
                "fetch", {"url": "https://staging.example.com/healthz"}, 'HTTP 200 {"status": "ok"}'
            ),
            _shell(
                "kubectl rollout status deploy/web -n staging",
                'deployment "web" successfully rolled out',
            ),
        ),
        (
            "Staging is healthy: /healthz answers 200 and the rollout of web completed. "
            "No rollback "
            "needed."
        ),
        0,
        Step(
            "fetch",
            {"url": "https://staging.example.com/healthz"},
            "HTTP 503 Service Unavailable",
            "HTTP 503 from staging /healthz",
        ),
        (
            "Staging answers 503 on /healthz. I did not roll back on my own: say so and I will run "
            "kubectl rollout undo."
        ),
        "/srv/ops/deploy",
    ),
    Task(
        "Find out why the CI cache misses on every run",
        (
            Step("read", {"path": ".github/workflows/ci.yml"}, "key: deps-${{ github.sha }}"),
            Step(
                "search",
                {"pattern": "actions/cache", "path": ".github/"},
                ".github/workflows/ci.yml:31: uses: actions/cache@v4",
            ),
        ),
        (
            "The cache key contains the commit SHA, so no two runs share it. Key it on "
            "hashFiles('uv.lock') instead."
        ),
        0,
        Step(
            "read",
            {"path": ".github/workflows/ci.yml"},
            "File does not exist.",
            "File does not exist: .github/workflows/ci.yml",
        ),
        "This checkout has no .github/workflows/ci.yml; which CI configuration do you mean?",
        "/home/ada/src/shop-api",
    ),
    Task(
        "Rename foo to bar and update the call sites",
        (
            Step("search", {"pattern": "foo(", "path": "src/"}, "14 matches in 6 files"),
            Step(
                "edit",
                {"path": "src/", "old": "foo(", "new": "bar("},
                "updated 14 call sites in 6 files",
            ),
            _shell("pytest -q", "58 passed in 6.2s"),
        ),
        "Renamed foo to bar: 14 call sites in 6 files; the 58 tests pass.",
        2,
        _shell(
            "pytest -q",
            "FAILED tests/test_cli.py::test_help - NameError: name 'foo' is not defined",
            "NameError: name 'foo' is not defined",
        ),
        (
            "Renamed 14 call sites, but tests/test_cli.py still calls foo through a string lookup; "
            "fix that by hand or let me change it."
        ),
        "/home/ada/src/dateparse",
    ),
)
FOLLOW_UP = Task(
    "Now add a line about it to CHANGELOG.md",
    (
        Step(
            "edit",
            {"path": "CHANGELOG.md", "old": "## Unreleased", "new": "## Unreleased\n- …"},
            "inserted 1 line",
        ),
    ),
    "Added a line under Unreleased in CHANGELOG.md.",
    0,
    Step(
        "edit",
        {"path": "CHANGELOG.md"},
        "File does not exist.",
        "File does not exist: CHANGELOG.md",
    ),
    "There is no CHANGELOG.md here; shall I create one?",
)
# each framework's name for each kind of tool
TOOL_NAMES = {
    "claude-code": {
        "shell": "Bash",
        "read": "Read",
        "edit": "Edit",
        "search": "Grep",
        "fetch": "WebFetch",
    },
    "codex": {
        "shell": "Bash",
        "read": "Bash",
        "edit": "apply_patch",
        "search": "Bash",
        "fetch": "web_search",
    },
    "gemini-cli": {
        "shell": "run_shell_command",
        "read": "read_file",
        "edit": "replace",
        "search": "search_file_content",
        "fetch": "web_fetch",
    },
    "openclaw": {
        "shell": "exec",
        "read": "read",
        "edit": "write",
        "search": "exec",
        "fetch": "web_fetch",
    },
    "hermes": {
        "shell": "terminal",
        "read": "read_file",
        "edit": "write_file",
        "search": "terminal",
        "fetch": "web_search",
    },
}
FAILURE_RATE = 0.12
WAITING_COMMAND = "rm -rf build/"
WAITING_QUESTION = f"Allow Bash: {WAITING_COMMAND} ?"


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
        """A whole session: its task, maybe a follow-up, then it ends (or, live, it may stop
        to ask a person)."""
        task = self.rng.choice(TASKS)
        self.start(task)
        ok = self.run(task)
        if ok and self.rng.random() < 0.3:
            self.wait(5, 90)
            self.run(FOLLOW_UP)
        self.wait(5, 60)
        if self.live and self.rng.random() < 0.3:
            self.ask(WAITING_QUESTION)
        elif self.rng.random() < 0.8:
            self.event(EventType.SESSION_END, payload={"reason": "prompt_input_exit"})
        return self.events

    def start(self, task: Task) -> None:
        self.event(
            EventType.SESSION_START,
            payload={"title": task.prompt, "model": self.agent.model, "cwd": task.project},
        )

    def ask(self, question: str, run_id: str | None = None) -> None:
        self.event(
            EventType.METRIC_SNAPSHOT,
            run_id=run_id,
            payload={
                "agent_state": "waiting_for_human",
                "waiting_reason": "permission_prompt",
                "message": question,
            },
        )

    def open_run(self, prompt: str) -> str:
        run_id = new_id()
        self.event(
            EventType.RUN_START, run_id=run_id, payload={"input": prompt, "model": self.agent.model}
        )
        return run_id

    def run(self, task: Task) -> bool:
        """One run of the task, a model call before each tool call and after the last; whether
        it succeeded."""
        run_id = self.open_run(task.prompt)
        fails = self.rng.random() < FAILURE_RATE
        steps = (*task.steps[: task.fails_at], task.failure) if fails else task.steps
        for step in steps:
            self.model_call(run_id)
            self.tool_call(run_id, step)
        self.model_call(run_id)
        answer = task.failed_answer if fails else task.answer
        payload = {"status": "error", "error": answer} if fails else {"status": "ok"}
        self.event(EventType.RUN_END, run_id=run_id, payload={**payload, "output": answer})
        return not fails

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

    def start_tool(self, run_id: str, kind: str, given: dict[str, Any]) -> str:
        """A tool call begun (its span id): what a pre-tool hook reports."""
        span_id = new_id()
        tool = TOOL_NAMES[self.agent.framework][kind]
        self.event(
            EventType.SPAN_START,
            run_id=run_id,
            span_id=span_id,
            payload={"kind": "tool", "name": tool, "input": given},
        )
        return span_id

    def tool_call(self, run_id: str, step: Step) -> None:
        tool = TOOL_NAMES[self.agent.framework][step.kind]
        started = self.clock
        span_id = self.start_tool(run_id, step.kind, step.input)
        self.wait(0.05, 6.0)
        payload: dict[str, Any] = {
            "kind": "tool",
            "name": tool,
            "input": step.input,
            "status": "error" if step.error else "ok",
            "output": step.output,
            "duration_ms": round((self.clock - started).total_seconds() * 1000, 1),
        }
        if step.error:
            payload["error"] = step.error
        self.event(EventType.SPAN_END, run_id=run_id, span_id=span_id, payload=payload)
        if step.error:
            self.event(
                EventType.ERROR,
                run_id=run_id,
                span_id=span_id,
                payload={"message": f"{tool}: {step.error}", "kind": "tool"},
            )


LOOP_STEP = _shell(
    "npm test",
    "Error: connect ECONNREFUSED 127.0.0.1:5432",
    "Error: connect ECONNREFUSED 127.0.0.1:5432",
)
LOST_VM = "orb"  # stops reporting shortly before the demo starts: its agent is lost
VMS = ("zap", "orb", "sun")
LOOP_EVERY_S = 45.0


def agent_on(host: str) -> Agent:
    return next(agent for agent in AGENTS if agent.host == host)


@dataclass
class Scenes:
    """Sessions that need a person when the demo starts: one waiting with a question, one
    stuck, one looping (and looping on, live), one on a VM that went silent, one failed."""

    events: list[Envelope]
    looping: SessionScript
    looping_run: str


def scenes(now: datetime, rng: random.Random) -> Scenes:
    def script(host: str, minutes_ago: float) -> SessionScript:
        return SessionScript(agent_on(host), now - timedelta(minutes=minutes_ago), rng, live=True)

    waiting = script("ada-laptop", 6)
    waiting.start(TASKS[0])
    run = waiting.open_run(TASKS[0].prompt)
    for step in TASKS[0].steps[:2]:
        waiting.model_call(run)
        waiting.tool_call(run, step)
    waiting.model_call(run)
    waiting.start_tool(run, "shell", {"command": WAITING_COMMAND})  # then the permission prompt
    waiting.ask(WAITING_QUESTION, run)

    stuck = script("devbox-1", 30)
    stuck.start(TASKS[3])
    run = stuck.open_run(TASKS[3].prompt)
    stuck.model_call(run)
    stuck.start_tool(run, "shell", {"command": "kubectl logs -f deploy/web"})

    looping = script("devbox-2", 5)
    looping.start(
        Task("Make the integration tests pass", (), "", 0, LOOP_STEP, "", "/home/ada/src/shop-api")
    )
    looping_run = looping.open_run("Make the integration tests pass")
    for _ in range(6):
        looping.model_call(looping_run)
        looping.tool_call(looping_run, LOOP_STEP)

    lost = script(LOST_VM, 15)
    lost.start(TASKS[4])
    run = lost.open_run(TASKS[4].prompt)
    lost.model_call(run)
    lost.tool_call(run, TASKS[4].steps[0])

    failed = script("hermes-vm", 40)
    failed.start(TASKS[1])
    run = failed.open_run(TASKS[1].prompt)
    failed.model_call(run)
    failed.tool_call(run, TASKS[1].failure)
    failed.event(
        EventType.RUN_END,
        run_id=run,
        payload={
            "status": "error",
            "error": TASKS[1].failed_answer,
            "output": TASKS[1].failed_answer,
        },
    )
    failed.event(EventType.SESSION_END, payload={"reason": "prompt_input_exit"})
    events = [e for s in (waiting, stuck, looping, lost, failed) for e in s.events]
    return Scenes(events, looping, looping_run)


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


DEMO_HOSTS = tuple(sorted({agent.host for agent in AGENTS} | set(VMS)))
RESTART_REASON = "demo_restarted"
# a backfilled session needs this long to finish before "now"
SESSION_ROOM_H = 0.5


def closing_events(left: Leftovers) -> list[Envelope]:
    """An earlier demo run's open sessions, ended when they were last heard (so their
    durations stay true): its waiting, stuck and looping scenes would otherwise need a
    person forever beside the new run's own."""
    return [
        new_event(
            EventType.SESSION_END,
            framework=session.framework or "demo",
            host=session.host,
            client_id=session.host,
            session_id=session.session_id,
            ts=datetime.fromtimestamp(session.last_ms / 1000, UTC),
            attributes={"demo": True},
            payload={"reason": RESTART_REASON},
        )
        for session in left.open_sessions
    ]


class DemoTraffic:
    def __init__(
        self,
        sink: Sink,
        *,
        backfill_hours: float = 24,
        sessions_per_hour: float = 12,
        seed: int | None = None,
        earlier: Callable[[], Awaitable[Leftovers]] | None = None,
    ) -> None:
        """`earlier` tells what a previous demo run left in the store (None: assume nothing):
        a restart then backfills only the time since it stopped and ends its open sessions."""
        self.sink = sink
        self.backfill_hours = backfill_hours
        self.sessions_per_hour = sessions_per_hour
        self.rng = random.Random(seed)
        self.earlier = earlier
        self._pending: list[tuple[float, int, Envelope]] = []
        self._order = itertools.count()
        self.scenes: Scenes | None = None

    async def run(self) -> None:
        await self.backfill()
        await self.live()

    async def _hours_to_fill(self, now: datetime) -> tuple[float, list[Envelope]]:
        """How many hours of history to make up, and the events that close the last run."""
        if self.earlier is None:
            return self.backfill_hours, []
        left = await self.earlier()
        closing = closing_events(left)
        if left.last_ms is None:
            return self.backfill_hours, closing
        gap_h = (now.timestamp() * 1000 - left.last_ms) / 3_600_000
        return max(0.0, min(self.backfill_hours, gap_h)), closing

    async def backfill(self) -> None:
        now = datetime.now(UTC)
        hours, events = await self._hours_to_fill(now)
        if hours >= SESSION_ROOM_H:
            for _ in range(int(hours * self.sessions_per_hour)):
                start = now - timedelta(hours=self.rng.uniform(SESSION_ROOM_H, hours))
                script = SessionScript(self.rng.choice(AGENTS), start, self.rng, live=False)
                events += script.build()
        minutes = int(hours * 60)
        for minute in range(0, minutes, 5):
            at = now - timedelta(minutes=minutes - minute)
            silent = at > now - timedelta(minutes=8)
            events += [
                vm_snapshot(name, self.rng, at) for name in VMS if not (silent and name == LOST_VM)
            ]
        standing = scenes(now, self.rng)
        self.scenes = standing
        events += standing.events
        past = [e for e in events if e.event.ts <= format_ts(now)]
        for offset in range(0, len(past), 1000):
            await self._deliver(past[offset : offset + 1000])
        log.info("demo: backfilled %d events over %.1f h", len(past), hours)

    async def live(self) -> None:
        """New sessions at the backfill's rate (on average), VM snapshots every 15 s (none
        from the lost VM), and the looping agent repeating its call."""
        next_session = next_vm = next_loop = time.time()
        mean_gap_s = 3600 / self.sessions_per_hour
        live_agents = [agent for agent in AGENTS if agent.host != LOST_VM]
        while True:
            now = time.time()
            if now >= next_session:
                agent = self.rng.choice(live_agents)
                for event in SessionScript(agent, datetime.now(UTC), self.rng, live=True).build():
                    self._schedule(event)
                next_session = now + self.rng.uniform(0.5, 1.5) * mean_gap_s
            if now >= next_vm:
                for name in VMS:
                    if name != LOST_VM:
                        self._schedule(vm_snapshot(name, self.rng, datetime.now(UTC)))
                next_vm = now + 15
            if now >= next_loop and self.scenes is not None:
                self._loop_again()
                next_loop = now + LOOP_EVERY_S
            due = self._due(now)
            if due:
                await self._deliver(due)
            await asyncio.sleep(0.5)

    def _loop_again(self) -> None:
        assert self.scenes is not None
        script = self.scenes.looping
        script.clock = max(script.clock, datetime.now(UTC))
        known = len(script.events)
        script.model_call(self.scenes.looping_run)
        script.tool_call(self.scenes.looping_run, LOOP_STEP)
        for event in script.events[known:]:
            self._schedule(event)
        del script.events[:]

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
