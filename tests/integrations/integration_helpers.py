"""Shared helpers of the integration tests: replaying hook payloads through a mapping, running
the real handler commands, and reading results back through the query API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentmon.events import validate_event

Event = dict[str, Any]
Mapper = Callable[[dict[str, Any], dict[str, Any], dict[str, str], float], list[Event]]

SOURCE = {"framework": "test", "client_id": "laptop", "host": "laptop"}
T0 = 1_787_236_200.0
BIN = Path(sys.executable).parent


class Replay:
    """Feeds payloads one second apart through a mapping, keeping one state per session."""

    def __init__(self, mapper: Mapper, session_of: Callable[[dict[str, Any]], str]) -> None:
        self.mapper = mapper
        self.session_of = session_of
        self.states: dict[str, dict[str, Any]] = {}
        self.now = T0
        self.events: list[Event] = []

    def __call__(self, *payloads: dict[str, Any]) -> list[Event]:
        produced: list[Event] = []
        for payload in payloads:
            self.now += 1.0
            state = self.states.setdefault(self.session_of(payload), {})
            # the state goes through JSON between hook processes: do the same here
            events = self.mapper(json.loads(json.dumps(payload)), state, SOURCE, self.now)
            self.states[self.session_of(payload)] = json.loads(json.dumps(state))
            for event in events:
                validate_event(event)
            produced.extend(events)
        self.events.extend(produced)
        return produced


def types(events: list[Event]) -> list[str]:
    return [event["event"]["type"] for event in events]


def of_type(events: list[Event], event_type: str) -> list[Event]:
    return [event for event in events if event["event"]["type"] == event_type]


class HandlerRunner:
    """Runs a real console command (``agentmon-claude-handler`` …) as the tool would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, command: str, payload: dict[str, Any] | str, *, argv: bool = False
    ) -> subprocess.CompletedProcess[str]:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        args = [str(BIN / command), *([text] if argv else [])]
        result = subprocess.run(
            args,
            input="" if argv else text,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result

    def log_lines(self) -> list[str]:
        path = Path(self.env["AGENTMON_HOOK_LOG"])
        return path.read_text().splitlines() if path.exists() else []

    def spooled_files(self) -> list[Path]:
        spool = Path(self.env["AGENTMON_SPOOL_DIR"])
        return sorted(spool.glob("*.json")) if spool.exists() else []


class QueryClient:
    def __init__(self, base: str, api_key: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def get(self, path: str, **query: Any) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        request = urllib.request.Request(url, headers=self.headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def session(self, session_id: str) -> dict[str, Any]:
        return self.get(f"/v1/sessions/{urllib.parse.quote(session_id, safe='')}")

    def run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/v1/runs/{urllib.parse.quote(run_id, safe='')}")

    def events(self, **query: Any) -> list[Event]:
        return self.get("/v1/events", **{"limit": 1000, **query})["events"]

    def wait_for_session(
        self, session_id: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The session detail once ``predicate`` holds (the store applies events asynchronously)."""
        deadline = time.monotonic() + 15
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                detail = self.session(session_id)
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            else:
                if predicate(detail):
                    return detail
            time.sleep(0.05)
        raise AssertionError(f"session {session_id} never reached the expected state: {detail}")


def counted_tokens(events: list[Event]) -> dict[str, int]:
    """Tokens the store would count from these events: their `metric.snapshot`s' usage."""
    from agentmon.client.usage import normalize_usage

    summed = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    for event in of_type(events, "metric.snapshot"):
        counts = normalize_usage(event["payload"].get("usage"))
        for name in summed:
            summed[name] += counts.get(f"{name}_tokens", 0)
    return summed


def clean_env(*prefixes: str) -> dict[str, str]:
    """This process's environment without the variables whose names start with `prefixes`."""
    return {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}


def agentmon_import(tool: str, env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`agentmon import TOOL ARGS…` as a user runs it, with `env`; what it printed (it must
    succeed)."""
    result = subprocess.run(
        [str(BIN / "agentmon"), "import", tool, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
