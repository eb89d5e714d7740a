"""A Hermes session reaches the store through the hooks (``agentmon-hermes-handler``) and
through ``agentmon import hermes``, in either order: each run and token is stored once.

The hooks see a random ``turn_id`` and usage per API call; Hermes' ``state.db`` (the table
and column names of hermes_state.py 0.19) holds the user's messages and usage per session
and model. The session has two turns of the same prompt (two API calls and a tool call,
then one call); later it is resumed for a third."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from integration_helpers import HandlerRunner, QueryClient, agentmon_import

MODEL = "claude-sonnet-4-6"
PROMPT = "Fix the build"
CALL = {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 0}
START = 1795000000.0

SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT NOT NULL, model TEXT,
  parent_session_id TEXT, started_at REAL NOT NULL, ended_at REAL, end_reason TEXT,
  input_tokens INTEGER DEFAULT 0, output_tokens INTEGER DEFAULT 0,
  cache_read_tokens INTEGER DEFAULT 0, cache_write_tokens INTEGER DEFAULT 0, cwd TEXT,
  billing_provider TEXT, actual_cost_usd REAL, title TEXT, last_activity_at REAL);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
  role TEXT NOT NULL, content TEXT, tool_call_id TEXT, tool_name TEXT, timestamp REAL NOT NULL,
  active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE session_model_usage (session_id TEXT NOT NULL, model TEXT NOT NULL,
  billing_provider TEXT NOT NULL DEFAULT '', task TEXT NOT NULL DEFAULT '',
  api_call_count INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0, cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0, actual_cost_usd REAL NOT NULL DEFAULT 0);
"""


class HermesSession:
    """One session as Hermes plays it: hooks as they fire, the database as it is left."""

    def __init__(self, root: Path, hooks: HandlerRunner) -> None:
        self.session_id = f"20261205_{uuid.uuid4().hex[:12]}"
        self.root, self.hooks = root, hooks
        self.history: list[dict[str, Any]] = []  # Hermes' messages (what the DB keeps)
        self.calls = 0
        self.hooks_on = True

    def hook(self, name: str, tool: str | None = None, **extra: Any) -> None:
        if not self.hooks_on:
            return
        payload = {
            "hook_event_name": name,
            "tool_name": tool,
            "tool_input": {"command": "make"} if tool else None,
            "session_id": self.session_id,
            "cwd": "/home/ada/shop",
            "extra": extra,
        }
        self.hooks("agentmon-hermes-handler", payload)

    def api_call(self, turn: str, reply: str) -> None:
        self.calls += 1
        request = f"req-{self.calls}"
        self.hook("pre_api_request", turn_id=turn, api_request_id=request, model=MODEL)
        self.hook("post_api_request", turn_id=turn, api_request_id=request, model=MODEL, usage=CALL)
        self.history.append({"role": "assistant", "content": reply})

    def turn(self, *, with_tool: bool) -> None:
        turn = uuid.uuid4().hex  # Hermes' turn ids are random: the database keeps none
        self.history.append({"role": "user", "content": PROMPT})
        history = [dict(m) for m in self.history]
        self.hook("pre_llm_call", turn_id=turn, user_message=PROMPT, conversation_history=history)
        if with_tool:
            self.api_call(turn, "Running make")
            self.hook("pre_tool_call", tool="terminal", turn_id=turn, tool_call_id="call_1")
            self.hook("post_tool_call", tool="terminal", turn_id=turn, tool_call_id="call_1")
            self.history.append({"role": "tool", "content": "ok", "tool_call_id": "call_1"})
        self.api_call(turn, "Fixed")
        self.hook("post_llm_call", turn_id=turn, assistant_response="Fixed")
        self.hook("on_session_end", completed=True)

    def end(self) -> None:
        self.hook("on_session_finalize", reason="user_exit")

    def write_db(self) -> None:
        """Hermes' database as the session leaves it (ended an hour ago)."""
        home = self.root / "hermes"
        home.mkdir(parents=True, exist_ok=True)
        (home / "state.db").unlink(missing_ok=True)
        totals = {name: count * self.calls for name, count in CALL.items()}
        with sqlite3.connect(home / "state.db") as db:
            db.executescript(SCHEMA)
            db.execute(
                "INSERT INTO sessions (id, source, model, started_at, ended_at, input_tokens, "
                "output_tokens, cwd, title) VALUES (?, 'cli', ?, ?, ?, ?, ?, '/home/ada/shop', ?)",
                [
                    self.session_id,
                    MODEL,
                    START,
                    time.time() - 3600,
                    totals["input_tokens"],
                    totals["output_tokens"],
                    PROMPT,
                ],
            )
            db.executemany(
                "INSERT INTO messages (session_id, role, content, tool_call_id, tool_name, "
                "timestamp) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.session_id,
                        m["role"],
                        m["content"],
                        m.get("tool_call_id"),
                        "terminal" if m["role"] == "tool" else None,
                        START + i,
                    )
                    for i, m in enumerate(self.history)
                ],
            )
            db.execute(
                "INSERT INTO session_model_usage (session_id, model, billing_provider, "
                "api_call_count, input_tokens, output_tokens, actual_cost_usd) "
                "VALUES (?, ?, 'anthropic', ?, ?, ?, 0.05)",
                [
                    self.session_id,
                    MODEL,
                    self.calls,
                    totals["input_tokens"],
                    totals["output_tokens"],
                ],
            )
        db.close()


def run_import(session: HermesSession, hooks: HandlerRunner, ingest_url: str) -> str:
    """`agentmon import hermes` on the machine the hooks ran on (their state directory)."""
    env = {k: v for k, v in hooks.env.items() if not k.startswith("HERMES_")}
    env["HERMES_HOME"] = str(session.root / "hermes")
    return agentmon_import("hermes", env, "--ingest-url", ingest_url, timeout=60)


def stored(query: QueryClient, session_id: str, calls: int) -> dict[str, Any]:
    """The session once its tokens are in (and a moment more, so a duplicate would show)."""
    query.wait_for_session(session_id, lambda d: d["session"]["tokens"]["total"] >= calls * 1100)
    time.sleep(0.5)
    detail = query.session(session_id)
    runs = [query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "runs": sorted((r["run"]["run_id"], r["run"]["input"]) for r in runs),
        "tools": sorted(s["span_id"] for r in runs for s in r["spans"] if s["kind"] == "tool"),
        "tokens": (detail["session"]["tokens"]["input"], detail["session"]["tokens"]["output"]),
    }


def test_hooks_then_import_twice_store_each_run_and_token_once(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = HermesSession(tmp_path, run_handler)
    session.turn(with_tool=True)
    session.turn(with_tool=False)
    session.end()
    query = QueryClient(server.query_url)
    live = stored(query, session.session_id, 3)
    assert [run[1] for run in live["runs"]] == [PROMPT, PROMPT]
    assert live["tokens"] == (3000, 300) and len(live["tools"]) == 1

    session.write_db()
    for _ in range(2):
        assert "sessions: 1" in run_import(session, run_handler, server.ingest_url)
        assert stored(query, session.session_id, 3) == live


def test_import_then_a_resumed_turn_with_the_hooks_store_each_once(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = HermesSession(tmp_path, run_handler)
    session.hooks_on = False  # not installed yet
    session.turn(with_tool=True)
    session.turn(with_tool=False)
    session.write_db()
    run_import(session, run_handler, server.ingest_url)
    query = QueryClient(server.query_url)
    imported = stored(query, session.session_id, 3)
    assert imported["tokens"] == (3000, 300) and len(imported["runs"]) == 2

    session.hooks_on = True  # installed: the session is resumed for the same prompt again
    session.turn(with_tool=False)
    session.end()
    resumed = stored(query, session.session_id, 4)
    assert resumed["tokens"] == (4000, 400)
    assert len(resumed["runs"]) == 3 and set(imported["runs"]) < set(resumed["runs"])

    session.write_db()  # the database now holds all three turns and four calls
    run_import(session, run_handler, server.ingest_url)
    assert stored(query, session.session_id, 4) == resumed


def test_the_ledger_outlives_the_pruned_state_so_a_late_import_adds_nothing(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    """The hooks' state of a session untouched for a week is pruned when a new session
    starts; the usage they reported is kept apart, so importing the session later still
    counts each token once."""
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url
    session = HermesSession(tmp_path, run_handler)
    session.turn(with_tool=True)
    session.end()
    query = QueryClient(server.query_url)
    live = stored(query, session.session_id, 2)
    state = Path(run_handler.env["AGENTMON_STATE_DIR"]) / "hermes"
    week_ago = time.time() - 8 * 86400
    os.utime(state / f"{session.session_id}.json", (week_ago, week_ago))
    HermesSession(tmp_path, run_handler).turn(with_tool=False)  # a new session prunes
    assert not (state / f"{session.session_id}.json").exists()
    assert (state / "kept" / f"{session.session_id}.json").exists()

    session.write_db()
    run_import(session, run_handler, server.ingest_url)
    assert stored(query, session.session_id, 2) == live


def test_a_hook_state_that_is_not_a_ledger_leaves_the_totals_whole(
    server: Any, tmp_path: Path, run_handler: HandlerRunner
) -> None:
    session = HermesSession(tmp_path, run_handler)
    session.hooks_on = False
    session.turn(with_tool=False)
    session.write_db()
    state = Path(run_handler.env["AGENTMON_STATE_DIR"]) / "hermes"
    state.mkdir(parents=True)
    ledgers = [
        '{"kept": {"reported_usage": "lots"}}',
        '{"kept": {"reported_usage": {"m": 5, "n": {"a": "b"}}}}',
        '{"kept": "all of it"}',
    ]
    for text in [*ledgers, "[1, 2]", "{not json"]:
        (state / f"{session.session_id}.json").write_text(text)
        run_import(session, run_handler, server.ingest_url)
        found = stored(QueryClient(server.query_url), session.session_id, 1)
        assert found["tokens"] == (1000, 100)
    os.remove(state / f"{session.session_id}.json")
