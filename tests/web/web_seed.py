"""Seed data for the browser tests: a few sessions across frameworks and hosts, runs with
spans (one carrying an HTML/JS injection attempt), a session waiting for a human, a failed
one, OpenClaw agent events and VM snapshots with history. Every session starts in the last
two minutes, so they are the newest on a server shared with other test modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agentmon.events import EventType, new_event, to_dict

XSS_OUTPUT = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'
XSS_TITLE = '<img src=x onerror="window.__xss=3"> fix the login page'


@dataclass
class Seed:
    """Ids of what was seeded (unique per test run) and the envelopes to POST."""

    tag: str
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def until(self) -> str:
        """A bound on start times that covers the seed and nothing posted after it."""
        return (self.now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def sid(self, name: str) -> str:
        return f"{self.tag}-{name}"

    @property
    def vm_ok(self) -> str:
        """A healthy VM (names carry the tag: other test modules report VMs too)."""
        return f"kestrel-{self.tag[-4:]}"

    @property
    def vm_bad(self) -> str:
        """A VM whose disk is nearly full."""
        return f"osprey-{self.tag[-4:]}"

    @property
    def main_session(self) -> str:
        return self.sid("alpha")

    @property
    def main_run(self) -> str:
        return self.sid("alpha-run1")

    # The spans of the main run, in start order.
    MAIN_SPANS = ("Read", "claude-sonnet-4-6", "Bash", "Edit")
    # The spans of the sub-agent run in tree order, with their depth.
    TREE_SPANS = (
        ("claude-opus-4", 0),
        ("Task: review the diff", 0),
        ("claude-haiku-4", 1),
        ("Grep", 1),
        ("Read", 1),
        ("Bash", 0),
    )


def _event(
    kind: EventType,
    ts: datetime,
    *,
    framework: str,
    host: str,
    session: str | None = None,
    run: str | None = None,
    span: str | None = None,
    parent: str | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return to_dict(
        new_event(
            kind,
            framework=framework,
            client_id=host,
            host=host,
            session_id=session,
            run_id=run,
            span_id=span,
            parent_span_id=parent,
            payload=payload or {},
            ts=ts,
        )
    )


def build_seed(tag: str, now: datetime | None = None) -> Seed:
    now = now or datetime.now(UTC)
    seed = Seed(tag, now)
    add = seed.events.append

    # A Claude Code session with one finished run (four spans, one failing, one with an
    # injection attempt in its output) and one run still going.
    fw, host, session = "claude-code", "laptop", seed.main_session
    t0 = now - timedelta(seconds=100)
    add(
        _event(
            EventType.SESSION_START,
            t0,
            framework=fw,
            host=host,
            session=session,
            payload={"title": XSS_TITLE, "model": "claude-sonnet-4-6", "cwd": "/src/app"},
        )
    )
    run = seed.main_run
    add(
        _event(
            EventType.RUN_START,
            t0 + timedelta(seconds=1),
            framework=fw,
            host=host,
            session=session,
            run=run,
            payload={"input": "Fix the login page; run the tests."},
        )
    )
    spans = [
        (
            "Read",
            "tool",
            2,
            1.2,
            "ok",
            {"file_path": "src/login.py"},
            {"content": "def login(): ..."},
        ),
        (
            "claude-sonnet-4-6",
            "llm",
            4,
            6.0,
            "ok",
            {"messages": 3},
            {"text": "I will run the tests."},
        ),
        (
            "Bash",
            "tool",
            11,
            3.5,
            "ok",
            {"command": "pytest -q"},
            {"stdout": XSS_OUTPUT + "x" * 600},
        ),
        ("Edit", "tool", 16, 0.8, "error", {"file_path": "src/login.py"}, None),
    ]
    for i, (name, kind, start_s, dur_s, status, inp, out) in enumerate(spans):
        span = f"{run}-span{i}"
        start = t0 + timedelta(seconds=start_s)
        add(
            _event(
                EventType.SPAN_START,
                start,
                framework=fw,
                host=host,
                session=session,
                run=run,
                span=span,
                payload={"kind": kind, "name": name, "input": inp},
            )
        )
        end_payload: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "status": status,
            "duration_ms": dur_s * 1000,
        }
        if out is not None:
            end_payload["output"] = out
        if status == "error":
            end_payload["error"] = "old_string not found in src/login.py"
        add(
            _event(
                EventType.SPAN_END,
                start + timedelta(seconds=dur_s),
                framework=fw,
                host=host,
                session=session,
                run=run,
                span=span,
                payload=end_payload,
            )
        )
    add(
        _event(
            EventType.RUN_END,
            t0 + timedelta(seconds=20),
            framework=fw,
            host=host,
            session=session,
            run=run,
            payload={"status": "ok", "output": "Fixed; tests pass."},
        )
    )
    add(
        _event(
            EventType.METRIC_SNAPSHOT,
            t0 + timedelta(seconds=20),
            framework=fw,
            host=host,
            session=session,
            run=run,
            payload={
                "usage": {"input_tokens": 12000, "output_tokens": 1800},
                "cost_usd": 0.061,
                "model": "claude-sonnet-4-6",
            },
        )
    )
    run2 = seed.sid("alpha-run2")
    t1 = now - timedelta(seconds=20)
    add(
        _event(
            EventType.RUN_START,
            t1,
            framework=fw,
            host=host,
            session=session,
            run=run2,
            payload={"input": "Now update the changelog."},
        )
    )
    add(
        _event(
            EventType.SPAN_START,
            t1 + timedelta(seconds=2),
            framework=fw,
            host=host,
            session=session,
            run=run2,
            span=f"{run2}-span0",
            payload={"kind": "tool", "name": "Write", "input": {"file_path": "CHANGELOG.md"}},
        )
    )

    # A Codex session waiting for a human on a permission prompt.
    fw, host, session = "codex", "ci-runner", seed.sid("bravo")
    t0 = now - timedelta(seconds=80)
    add(
        _event(
            EventType.SESSION_START,
            t0,
            framework=fw,
            host=host,
            session=session,
            payload={"title": "Migrate the build to uv"},
        )
    )
    add(
        _event(
            EventType.RUN_START,
            t0 + timedelta(seconds=1),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("bravo-run1"),
            payload={"input": "Migrate to uv"},
        )
    )
    add(
        _event(
            EventType.METRIC_SNAPSHOT,
            t0 + timedelta(seconds=10),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("bravo-run1"),
            payload={
                "agent_state": "waiting_for_human",
                "waiting_reason": "permission_prompt",
                "message": "Allow `rm -rf build/`?",
            },
        )
    )

    # A Gemini session whose run failed.
    fw, host, session = "gemini-cli", "desktop", seed.sid("charlie")
    t0 = now - timedelta(seconds=60)
    add(
        _event(
            EventType.SESSION_START,
            t0,
            framework=fw,
            host=host,
            session=session,
            payload={"title": "Summarise the incident report"},
        )
    )
    add(
        _event(
            EventType.RUN_START,
            t0 + timedelta(seconds=1),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("charlie-run1"),
            payload={"input": "Summarise"},
        )
    )
    add(
        _event(
            EventType.ERROR,
            t0 + timedelta(seconds=5),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("charlie-run1"),
            payload={"message": "429 Too Many Requests", "kind": "rate_limit", "status_code": 429},
        )
    )
    add(
        _event(
            EventType.RUN_END,
            t0 + timedelta(seconds=6),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("charlie-run1"),
            payload={"status": "error", "error": "rate limited"},
        )
    )

    # An OpenClaw agent on a healthy VM, and VM snapshots of it and of one whose disk is
    # nearly full, over the last half hour.
    fw, host, session = "openclaw", seed.vm_ok, seed.sid("delta")
    t0 = now - timedelta(seconds=50)
    add(
        _event(
            EventType.SESSION_START,
            t0,
            framework=fw,
            host=host,
            session=session,
            payload={"title": "Triage new issues"},
        )
    )
    add(
        _event(
            EventType.RUN_START,
            t0 + timedelta(seconds=1),
            framework=fw,
            host=host,
            session=session,
            run=seed.sid("delta-run1"),
            payload={"input": "Triage"},
        )
    )
    run = seed.sid("delta-run1")
    # an MCP tool's name is long and has no space to wrap at (the 390 px layout must hold it)
    calls = (("web_fetch", 2, 2.5), ("mcp__github__create_pull_request_review_comment", 6, 0.4))
    for i, (name, start_s, dur_s) in enumerate(calls):
        span = f"{run}-span{i}"
        common: dict[str, Any] = {"framework": fw, "host": host, "session": session, "run": run}
        add(
            _event(
                EventType.SPAN_START,
                t0 + timedelta(seconds=start_s),
                span=span,
                payload={"kind": "tool", "name": name},
                **common,
            )
        )
        add(
            _event(
                EventType.SPAN_END,
                t0 + timedelta(seconds=start_s + dur_s),
                span=span,
                payload={"kind": "tool", "name": name, "status": "ok", "duration_ms": dur_s * 1000},
                **common,
            )
        )
    add(
        _event(
            EventType.RUN_END,
            t0 + timedelta(seconds=9),
            framework=fw,
            host=host,
            session=session,
            run=run,
            payload={"status": "ok"},
        )
    )
    # A second OpenClaw agent, on the other VM, blocked on an approval.
    other = seed.sid("echo")
    add(
        _event(
            EventType.SESSION_START,
            t0 + timedelta(seconds=3),
            framework=fw,
            host=seed.vm_bad,
            session=other,
            payload={"title": "Nightly dependency bumps"},
        )
    )
    add(
        _event(
            EventType.METRIC_SNAPSHOT,
            t0 + timedelta(seconds=12),
            framework=fw,
            host=seed.vm_bad,
            session=other,
            payload={
                "agent_state": "waiting_for_human",
                "waiting_reason": "approval",
                "message": "Merge 4 pull requests?",
            },
        )
    )
    _add_subagent_session(seed)
    for minutes_ago in range(30, -1, -3):
        ts = now - timedelta(minutes=minutes_ago, seconds=5)
        cpu = 10.0 + (minutes_ago % 9) * 4
        add(
            _event(
                EventType.OPENCLAW_SNAPSHOT,
                ts,
                framework="openclaw",
                host=seed.vm_ok,
                payload=vm_snapshot(seed.vm_ok, cpu=cpu, disk_pct=41.0),
            )
        )
        add(
            _event(
                EventType.OPENCLAW_SNAPSHOT,
                ts,
                framework="openclaw",
                host=seed.vm_bad,
                payload=vm_snapshot(seed.vm_bad, cpu=cpu * 1.8, disk_pct=93.0),
            )
        )
    return seed


def vm_snapshot(name: str, *, cpu: float, disk_pct: float) -> dict[str, Any]:
    issues = []
    if disk_pct > 90:
        issues.append(
            {"severity": "critical", "code": "disk_high", "message": f"disk {disk_pct:.0f}% used"}
        )
    return {
        "instance": name,
        "state": "running",
        "uptime_s": 86400 * 3 + 3600,
        "vcpus": 2,
        "cpu_pct": cpu,
        "memory": {
            "assigned_kb": 4194304,
            "used_kb": 1572864,
            "available_kb": 2621440,
            "pct": 37.5,
        },
        "disk": {
            "used_bytes": disk_pct / 100 * 4e10,
            "total_bytes": 4e10,
            "pct": disk_pct,
            "mount": "/",
        },
        "net": {"rx_bps": 1200.0, "tx_bps": 800.0, "rx_errs": 0, "tx_errs": 0},
        "load": [0.1, 0.2, 0.3],
        "gateway": {
            "url": f"http://{name}.local:18789/",
            "up": True,
            "latency_ms": 12.3,
            "status_code": 200,
        },
        "services": {"openclaw-gateway": "active"},
        "checks": {"libvirt": "ok", "ssh": "ok", "gateway": "ok"},
        "issues": issues,
    }


def _add_subagent_session(seed: Seed) -> None:
    """An ended Claude Code session whose run hands work to a sub-agent (a Task span that is
    the parent of the sub-agent's model and tool calls), with token usage on the model calls."""
    fw, host, session = "claude-code", "laptop", seed.sid("foxtrot")
    run = seed.sid("foxtrot-run1")
    t0 = seed.now - timedelta(seconds=45)
    common: dict[str, Any] = {"framework": fw, "host": host, "session": session}
    add = seed.events.append
    add(_event(EventType.SESSION_START, t0, payload={"title": "Review the release diff"}, **common))
    add(
        _event(
            EventType.RUN_START,
            t0 + timedelta(seconds=1),
            run=run,
            payload={"input": "Review the diff for the release."},
            **common,
        )
    )
    task = f"{run}-task"
    spans: list[tuple[str, str, str | None, float, float, dict[str, Any] | None]] = [
        (
            "opus",
            "claude-opus-4",
            None,
            2,
            3,
            {"input_tokens": 8000, "output_tokens": 900, "cost_usd": 0.19},
        ),
        ("task", "Task: review the diff", None, 5, 12, None),
        ("haiku", "claude-haiku-4", task, 6, 2, {"input_tokens": 5200, "output_tokens": 640}),
        ("grep", "Grep", task, 8.5, 1, None),
        ("read", "Read", task, 10, 1.5, None),
        ("bash", "Bash", None, 18, 2, None),
    ]
    for key, name, parent, start_s, dur_s, usage in spans:
        span = task if key == "task" else f"{run}-{key}"
        kind = "llm" if usage else "agent" if key == "task" else "tool"
        start = t0 + timedelta(seconds=start_s)
        add(
            _event(
                EventType.SPAN_START,
                start,
                run=run,
                span=span,
                parent=parent,
                payload={
                    "kind": kind,
                    "name": name,
                    "input": {"pattern": "TODO"} if key == "grep" else None,
                },
                **common,
            )
        )
        end: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "status": "ok",
            "duration_ms": dur_s * 1000,
        }
        if usage:
            end["usage"] = usage
            end["output"] = {"text": f"{name} says: the diff looks fine."}
        if key == "grep":
            end["output"] = {"matches": 3}
        add(
            _event(
                EventType.SPAN_END,
                start + timedelta(seconds=dur_s),
                run=run,
                span=span,
                parent=parent,
                payload=end,
                **common,
            )
        )
    add(
        _event(
            EventType.RUN_END,
            t0 + timedelta(seconds=21),
            run=run,
            payload={"status": "ok", "output": "The diff is ready to ship."},
            **common,
        )
    )
    add(
        _event(
            EventType.SESSION_END, t0 + timedelta(seconds=22), payload={"reason": "exit"}, **common
        )
    )
