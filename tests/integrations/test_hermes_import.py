"""``agentmon import hermes`` of a fixture ``state.db`` (built from the spec's table and column
names) into the real server, twice: ended sessions only, usage per model, no duplicates."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import urllib.error
import uuid
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import BIN, QueryClient, agentmon_import, clean_env

SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT, model TEXT, billing_provider TEXT,
  parent_session_id TEXT, end_reason TEXT, started_at REAL, ended_at REAL,
  last_activity_at REAL, message_count INTEGER, api_call_count INTEGER, input_tokens INTEGER,
  output_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER,
  reasoning_tokens INTEGER, estimated_cost_usd REAL, actual_cost_usd REAL, cwd TEXT,
  git_branch TEXT, title TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, role TEXT,
  content TEXT, tool_call_id TEXT, tool_calls TEXT, tool_name TEXT, timestamp REAL,
  token_count INTEGER, active INTEGER DEFAULT 1);
CREATE TABLE session_model_usage (session_id TEXT, model TEXT, billing_provider TEXT,
  task TEXT, input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
  cache_write_tokens INTEGER, actual_cost_usd REAL);
"""


def write_db(home: Path, ended: str, still_open: str) -> None:
    home.mkdir(parents=True)
    with sqlite3.connect(home / "state.db") as db:
        db.executescript(SCHEMA)
        start = 1795000000.25
        db.execute(
            "INSERT INTO sessions (id, source, model, billing_provider, started_at, ended_at, "
            "last_activity_at, input_tokens, output_tokens, cache_read_tokens, "
            "cache_write_tokens, cwd, title, end_reason) VALUES "
            "(?, 'cli', 'claude-sonnet-4-6', 'anthropic', ?, ?, ?, 5400, 900, 42000, 3000, "
            "'/home/ada/shop', 'Fix the build', 'user_exit')",
            [ended, start, start + 120, start + 120],
        )
        db.execute(
            "INSERT INTO sessions (id, model, started_at, input_tokens) VALUES (?, 'x', ?, 10)",
            [still_open, start],
        )
        rows = [
            (ended, "user", "Fix the build", None, None, start + 1, 1),
            (ended, "assistant", "Running the tests", None, None, start + 5, 1),
            (ended, "tool", "2 failed", "call_1", "terminal", start + 9, 1),
            (ended, "user", "an abandoned try", None, None, start + 20, 0),  # rewound
            (ended, "user", "Try again", None, None, start + 30, 1),
            (ended, "assistant", "Fixed", None, None, start + 60, 1),
        ]
        db.executemany(
            "INSERT INTO messages (session_id, role, content, tool_call_id, tool_name, "
            "timestamp, active) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO session_model_usage VALUES (?, ?, 'anthropic', 'main', ?, ?, ?, ?, ?)",
            [
                (ended, "claude-sonnet-4-6", 5000, 800, 40000, 3000, 0.05),
                (ended, "claude-haiku-4-5", 400, 100, 2000, 0, None),
            ],
        )


def run_import(home: Path, ingest_url: str, *extra: str) -> str:
    env = {**clean_env("AGENTMON_", "HERMES_"), "HERMES_HOME": str(home)}
    return agentmon_import("hermes", env, "--ingest-url", ingest_url, *extra)


def snapshot(query: QueryClient, session_id: str) -> dict[str, Any]:
    detail = query.session(session_id)
    runs = [query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "session": detail["session"],
        "runs": [(r["run"]["input"], r["run"]["output"]) for r in runs],
        "spans": [(s["kind"], s["name"]) for r in runs for s in r["spans"]],
        "models": sorted((m["model"], m["tokens"]["total"]) for m in detail["session"]["models"]),
        "events": len(query.events(session_id=session_id)),
    }


def test_import_hermes_twice_stores_each_ended_session_once(server: Any, tmp_path: Path) -> None:
    ended, still_open = f"h-{uuid.uuid4().hex[:8]}", f"h-{uuid.uuid4().hex[:8]}"
    write_db(tmp_path / "hermes", ended, still_open)
    query = QueryClient(server.query_url)

    assert "sessions: 1" in run_import(tmp_path / "hermes", server.ingest_url, "--dry-run")
    run_import(tmp_path / "hermes", server.ingest_url)
    query.wait_for_session(ended, lambda d: d["session"]["tokens"]["output"] == 900)
    time.sleep(0.5)
    first = snapshot(query, ended)
    session = first["session"]
    assert (session["cwd"], session["title"], session["status"]) == (
        "/home/ada/shop",
        "Fix the build",
        "ended",
    )
    assert session["tokens"]["cache_read"] == 42000 and session["cost_source"] == "mixed"
    assert session["cost_usd"] is not None and session["cost_usd"] > 0.05  # reported + estimated
    assert first["runs"] == [("Fix the build", "Running the tests"), ("Try again", "Fixed")]
    assert first["spans"] == [("tool", "terminal")]
    assert first["models"] == [("claude-haiku-4-5", 500), ("claude-sonnet-4-6", 5800)]

    run_import(tmp_path / "hermes", server.ingest_url)
    time.sleep(1.0)
    assert snapshot(query, ended) == first
    with pytest.raises(urllib.error.HTTPError) as missing:  # still open: not imported
        query.session(still_open)
    assert missing.value.code == 404


@pytest.mark.parametrize(
    "content", [b"not a database at all", b"SQLite format 3\x00" + b"\xff" * 200, b""]
)
def test_a_state_db_that_is_not_hermes_is_named_and_skipped(
    server: Any, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "hermes").mkdir()
    (tmp_path / "hermes" / "state.db").write_bytes(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTMON_", "HERMES_"))}
    result = subprocess.run(
        [str(BIN / "agentmon"), "import", "hermes", "--ingest-url", server.ingest_url],
        env={**env, "HERMES_HOME": str(tmp_path / "hermes")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "state.db: not read" in result.stderr and "sessions: 0" in result.stdout
