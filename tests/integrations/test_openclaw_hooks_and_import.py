"""An OpenClaw session reaches the store through agentmon's plugin and through
``agentmon import openclaw``, in either order: each run, model call, tool call and token is
stored once.

``openclaw_real_turn/`` holds what OpenClaw 2026.9.6 really produced for two ``--local``
turns of one session (tests/real_agents/openclaw; the first with an ``exec`` tool call): the
plugin hooks it called (``hooks.jsonl``: hook, event, context; system prompt and tool list
left out) and the transcript entries it stored (``transcript.jsonl``, the ``event_json``
rows of its SQLite ``transcript_events``). The compiled plugin (hooks/openclaw/dist) replays
the hooks with Node and posts to a real server; the importer reads the entries from a
database laid out as OpenClaw's."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import uuid
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import QueryClient, agentmon_import, clean_env

RECORDED = Path(__file__).parent / "openclaw_real_turn"
PLUGIN = Path(__file__).parents[2] / "hooks" / "openclaw"
SESSION = "9fb6d331-7ae4-476f-bb35-8469cdd1fb29"
RUNS = ("6d037a4c-ed16-436a-b5f1-fd933dcc6897", "1b31a758-af6c-4c6c-8eaa-4371c034edb5")

# each hook as the gateway calls it, then what a one-shot process leaves for its timers
REPLAY = """
import { readFileSync } from "node:fs";
const dist = process.env.PLUGIN_DIST;
const { settle, send } = await import(`${dist}/lib/core.js`);
const mapping = await import(`${dist}/lib/plugin-mapping.js`);
mapping.setOneShotLocal(true);
for (const line of readFileSync(0, "utf8").split("\\n").filter(Boolean)) {
  const { hook, event, ctx } = JSON.parse(line);
  send(mapping.mapPluginHook(hook, event, ctx));
}
send(mapping.settleAllNow());
await settle();
"""


class RecordedSession:
    """The recording under fresh ids (the server may hold other tests' sessions)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.session_id = str(uuid.uuid4())
        self.renames = {SESSION: self.session_id, **{run: str(uuid.uuid4()) for run in RUNS}}

    def text(self, name: str) -> str:
        text = (RECORDED / name).read_text(encoding="utf-8")
        for old, new in self.renames.items():
            text = text.replace(old, new)
        return text

    def hooks(self, ingest_url: str, turns: slice = slice(None)) -> None:
        """Replay the plugin's hooks of `turns` (0: the tool turn, 1: the second)."""
        lines = self.text("hooks.jsonl").splitlines()
        starts = [i for i, line in enumerate(lines) if json.loads(line)["hook"] == "llm_input"]
        bounds = [*starts, len(lines)]
        chosen = [
            line for first, last in list(pairwise(bounds))[turns] for line in lines[first:last]
        ]
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "AGENTMON_INGEST_URL": ingest_url,
            "AGENTMON_SPOOL_DIR": str(self.home / "spool"),
            "PLUGIN_DIST": str(PLUGIN / "dist"),
        }
        result = subprocess.run(
            ["node", "--input-type=module", "-e", REPLAY],
            input="\n".join(chosen) + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def transcript(self, entries: int | None = None, steered: bool = False) -> None:
        """OpenClaw's database holding the session's first `entries` transcript entries
        (`steered`: with a message the user sent into the first run while it worked)."""
        database = self.home / ".openclaw" / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
        database.parent.mkdir(parents=True, exist_ok=True)
        database.unlink(missing_ok=True)
        rows = self.text("transcript.jsonl").splitlines()[:entries]
        if steered:
            first_run = self.renames[RUNS[0]]
            message = {"role": "user", "content": "also say bye", "timestamp": 1796457942000}
            entry = {"type": "message", "id": "steer-1", "parentId": None, "message": message}
            entry["timestamp"] = "2026-12-05T08:05:42.000Z"
            rows[6:6] = [json.dumps(entry)]
            assert first_run in rows[7]  # the run goes on after it
        old = int((time.time() - 7200) * 1000)  # a session that ended two hours ago
        with sqlite3.connect(database) as conn:
            conn.execute(
                "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                "event_json TEXT, created_at INTEGER NOT NULL, event_zstd BLOB, "
                "PRIMARY KEY (session_id, seq))"
            )
            conn.executemany(
                "INSERT INTO transcript_events VALUES (?, ?, ?, ?, NULL)",
                [(self.session_id, seq, row, old + seq) for seq, row in enumerate(rows)],
            )
        conn.close()


@pytest.fixture(scope="module")
def built_plugin() -> Path:
    if not (PLUGIN / "node_modules" / ".bin" / "tsc").exists():
        pytest.skip("hooks/openclaw has no node_modules: run `npm --prefix hooks/openclaw ci`")
    subprocess.run(
        ["npm", "--prefix", str(PLUGIN), "run", "build"], check=True, capture_output=True
    )
    return PLUGIN / "dist"


def run_import(home: Path, ingest_url: str) -> str:
    env = {**clean_env("AGENTMON_", "OPENCLAW_"), "HOME": str(home)}
    return agentmon_import("openclaw", env, "--ingest-url", ingest_url, timeout=60)


def stored(query: QueryClient, session_id: str) -> dict[str, Any]:
    """What the store holds of the session once it has applied what was sent (and a moment
    more, so a duplicate arriving late would show)."""
    query.wait_for_session(session_id, lambda d: d["session"]["tokens"]["total"] > 0)
    time.sleep(0.5)
    detail = query.session(session_id)
    runs = [query.run(run["run_id"]) for run in detail["runs"]]
    return {
        "runs": sorted((run["run"]["run_id"], run["run"]["input"]) for run in runs),
        "spans": sorted((s["kind"], s["name"], s["span_id"]) for r in runs for s in r["spans"]),
        "tokens": detail["session"]["tokens"],
        "usage_events": len(query.events(session_id=session_id, event_type="metric.snapshot")),
    }


def expected_shape(found: dict[str, Any], session: RecordedSession) -> None:
    """Two runs under OpenClaw's own run ids, three model calls, one tool call, three
    replies' tokens (111 in, 22 out each: the fake model's)."""
    assert found["runs"] == sorted(
        [
            (session.renames[RUNS[0]], "TOOL: run echo hello"),
            (session.renames[RUNS[1]], "say hi again"),
        ]
    )
    assert [(kind, name) for kind, name, _id in found["spans"]] == [
        ("llm", "fake-model"),
        ("llm", "fake-model"),
        ("llm", "fake-model"),
        ("tool", "exec"),
    ]
    assert (found["tokens"]["input"], found["tokens"]["output"]) == (333, 66)
    assert found["tokens"]["total"] == 399
    assert found["usage_events"] == 3


def test_plugin_then_import_twice_store_each_call_once(
    server: Any, tmp_path: Path, built_plugin: Path
) -> None:
    session = RecordedSession(tmp_path / "home")
    session.hooks(server.ingest_url)
    query = QueryClient(server.query_url)
    live = stored(query, session.session_id)
    expected_shape(live, session)

    session.transcript()
    for _ in range(2):
        summary = run_import(session.home, server.ingest_url)
        assert "sessions: 1" in summary and "tokens: 399" in summary
        assert stored(query, session.session_id) == live


def test_import_then_plugin_store_each_call_once(
    server: Any, tmp_path: Path, built_plugin: Path
) -> None:
    """The first turn imported (the plugin not yet installed), then both turns with the
    plugin on (OpenClaw's agent_end repeats the earlier turn's replies), then an import."""
    session = RecordedSession(tmp_path / "home")
    session.transcript(entries=10)  # the first turn's entries
    run_import(session.home, server.ingest_url)
    query = QueryClient(server.query_url)
    imported = stored(query, session.session_id)
    assert imported["tokens"]["total"] == 266 and len(imported["runs"]) == 1

    session.hooks(server.ingest_url, slice(1, None))
    both = stored(query, session.session_id)
    expected_shape(both, session)

    session.transcript()
    run_import(session.home, server.ingest_url)
    assert stored(query, session.session_id) == both


def test_the_database_and_a_file_of_the_same_session_import_once(
    server: Any, tmp_path: Path
) -> None:
    """OpenClaw's database beside an older JSONL transcript of the same session."""
    session = RecordedSession(tmp_path / "home")
    session.transcript()
    sessions = session.home / ".openclaw" / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    copy = sessions / f"{session.session_id}.jsonl"
    copy.write_text(session.text("transcript.jsonl"), encoding="utf-8")
    old = time.time() - 7200
    os.utime(copy, (old, old))
    summary = run_import(session.home, server.ingest_url)
    assert "sessions: 2" in summary
    expected_shape(stored(QueryClient(server.query_url), session.session_id), session)


def test_entries_the_database_cannot_give_are_skipped_and_counted(
    server: Any, tmp_path: Path
) -> None:
    session = RecordedSession(tmp_path / "home")
    session.transcript()
    database = session.home / ".openclaw" / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    with sqlite3.connect(database) as conn:
        rows = [
            (90, None, b"\x28\xb5\x2f\xfd"),  # compressed: this Python reads no zstd
            (91, "{not json", None),
            (92, "[1, 2]", None),
        ]
        conn.executemany(
            "INSERT INTO transcript_events VALUES (?, ?, ?, 0, ?)",
            [(session.session_id, seq, text, blob) for seq, text, blob in rows],
        )
    conn.close()
    (session.home / ".openclaw" / "agents" / "other" / "agent").mkdir(parents=True)
    not_a_db = session.home / ".openclaw" / "agents" / "other" / "agent" / "openclaw-agent.sqlite"
    not_a_db.write_bytes(b"not a database at all")
    summary = run_import(session.home, server.ingest_url)
    assert "skipped lines: 3 (1 compressed entry (zstd) not read, 2 not a JSON object)" in summary
    expected_shape(stored(QueryClient(server.query_url), session.session_id), session)


def test_a_message_steered_into_a_run_opens_no_run_of_its_own(server: Any, tmp_path: Path) -> None:
    """A user message OpenClaw took while the run was working belongs to that run (the
    entries after it carry the same runId): its model calls keep counting."""
    session = RecordedSession(tmp_path / "home")
    session.transcript(steered=True)
    run_import(session.home, server.ingest_url)
    expected_shape(stored(QueryClient(server.query_url), session.session_id), session)


def test_a_sub_agent_session_imports_under_the_session_that_spawned_it(
    server: Any, tmp_path: Path
) -> None:
    """OpenClaw 2026.9.6 records a `sessions_spawn` child's parent in `session_windows`
    (`parent_session_key`, the parent's key): the parent is the session that key had when
    the child was created, not one the key got later (`/new`)."""
    session = RecordedSession(tmp_path / "home")
    session.transcript()
    spawned_from, later = str(uuid.uuid4()), str(uuid.uuid4())
    child_key = "agent:main:subagent:3c1f2db1-81c8-4f9e-8d7c-6b5a4f3e8d2c"
    windows = [
        (spawned_from, "agent:main:gw", None, 1000),
        (session.session_id, child_key, "agent:main:gw", 2000),
        (later, "agent:main:gw", None, 3000),  # the key's next session, after a `/new`
    ]
    database = session.home / ".openclaw" / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT, "
            "parent_session_key TEXT, created_at INTEGER NOT NULL)"
        )
        conn.executemany("INSERT INTO session_windows VALUES (?, ?, ?, ?)", windows)
    conn.close()
    run_import(session.home, server.ingest_url)
    query = QueryClient(server.query_url)
    expected_shape(stored(query, session.session_id), session)
    assert query.session(session.session_id)["session"]["parent_session_id"] == spawned_from
