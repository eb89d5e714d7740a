"""What the real-agent tests share: waiting for what agentmon stored of a session."""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable
from typing import Any

from tests.integrations.integration_helpers import QueryClient

Detail = dict[str, Any]


def settled_session(
    query: QueryClient, session_id: str, ready: Callable[[Detail], bool], timeout: float = 20
) -> Detail:
    """The session's detail once `ready` holds (hooks post as the CLI goes, OTel batches
    after it exits), each run with its `spans` and `errors`."""
    deadline = time.monotonic() + timeout
    detail: Detail = {}
    while time.monotonic() < deadline:
        try:
            detail = query.session(session_id)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            detail = {}
        if detail and ready(detail):
            break
        time.sleep(0.1)
    assert detail, f"nothing stored for session {session_id}"
    time.sleep(0.3)  # the rest of the last batch
    detail = query.session(session_id)
    for run in detail["runs"]:
        run_detail = query.run(run["run_id"])
        run["spans"], run["errors"] = run_detail["spans"], run_detail["errors"]
    return detail


def ended_with_runs(runs: int) -> Callable[[Detail], bool]:
    """Ready once the session ended (status `ended`, or `error` when its last run failed)
    with at least `runs` runs over."""

    def ready(detail: Detail) -> bool:
        over = [run for run in detail["runs"] if run["status"] != "running"]
        return detail["session"]["ended_at"] is not None and len(over) >= runs

    return ready


def tool_spans(detail: Detail) -> list[dict[str, Any]]:
    return [span for run in detail["runs"] for span in run["spans"] if span["kind"] == "tool"]
