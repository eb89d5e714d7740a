"""The hook plumbing beyond the client layer: ids, clock, state locking, the handler skeleton
and its use of the client layer's delivery (tests/client/ tests the layer itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import HandlerRunner, QueryClient

from agentmon.client.config import ClientConfig
from agentmon.client.spool import Spool
from agentmon.integrations._hookio import (
    LockedState,
    MalformedPayload,
    deliver,
    derived_id,
    format_ts,
    make_event,
    new_event_id,
    parse_ts,
    read_payload,
)

SOURCE = {"framework": "hookio-test", "client_id": "box", "host": "box"}


def config_for(tmp_path: Path, url: str = "http://127.0.0.1:9") -> ClientConfig:
    return ClientConfig(
        {
            "AGENTMON_INGEST_URL": url,
            "AGENTMON_SPOOL_DIR": str(tmp_path / "spool"),
            "AGENTMON_STATE_DIR": str(tmp_path / "state"),
            "AGENTMON_HOOK_LOG": str(tmp_path / "hooks.log"),
            "AGENTMON_HOOK_TIMEOUT": "1",
        }
    )


def event(session: str, event_type: str = "session.start") -> dict[str, Any]:
    return make_event(
        event_type,
        source=SOURCE,
        ts=1_787_236_200.5,
        correlation={"session_id": session},
        payload={},
    )


def test_ids_are_rfc4122_and_derived_ids_are_stable() -> None:
    fresh = uuid.UUID(new_event_id())
    derived = uuid.UUID(derived_id("claude-code", "s1", "span", "toolu_1"))
    assert (fresh.version, derived.version) == (7, 5)
    assert str(derived) == derived_id("claude-code", "s1", "span", "toolu_1")
    assert derived_id("claude-code", "s2", "span", "toolu_1") != str(derived)


@pytest.mark.parametrize(
    "stamp",
    [
        "1970-01-01T00:00:00.000Z",
        "2000-02-29T23:59:59.999Z",
        "2026-08-20T14:30:03.350Z",
        "2100-03-01T00:00:00.001Z",
        "1969-12-31T23:59:59.500Z",
    ],
)
def test_javascript_time_stamps_parse_like_datetime(stamp: str) -> None:
    expected = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    assert parse_ts(stamp) == pytest.approx(expected, abs=1e-6)


def test_time_stamps_round_trip() -> None:
    assert format_ts(1_787_236_203.35) == "2026-08-20T14:30:03.350000Z"
    assert parse_ts("2026-08-20T14:30:03.350Z") == pytest.approx(1_787_236_203.35)
    assert parse_ts("2026-08-20T14:30:03") is None
    assert parse_ts("yesterday") is None


def test_read_payload_takes_argv_last_only_when_asked() -> None:
    argv = ["agentmon-codex-handler", '{"type": "agent-turn-complete", "_delivery": "argv"}']
    assert read_payload(argv, lambda: "{}", from_argv=True) == {"type": "agent-turn-complete"}
    assert read_payload(argv, lambda: '{"a": 1}') == {"a": 1}
    assert read_payload(["cmd", "--verbose"], lambda: '{"b": 2}', from_argv=True) == {"b": 2}
    for text in ("", "   ", "{oops", "[1]", "null"):
        with pytest.raises(MalformedPayload):
            read_payload(["cmd"], lambda text=text: text)  # type: ignore[misc]


def _increment(args: tuple[str, int]) -> None:
    directory, times = args
    config = ClientConfig({"AGENTMON_STATE_DIR": directory})
    for _ in range(times):
        with LockedState(config, "test", "shared session/with odd:chars") as state:
            state["count"] = state.get("count", 0) + 1


def test_locked_state_serialises_concurrent_processes(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        list(pool.map(_increment, [(str(tmp_path), 25)] * 4))
    config = ClientConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    with LockedState(config, "test", "shared session/with odd:chars") as state:
        assert state["count"] == 100


def test_locked_state_survives_a_corrupt_file(tmp_path: Path) -> None:
    config = ClientConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    with LockedState(config, "test", "s1") as state:
        state["x"] = 1
    (tmp_path / "test" / "s1.json").write_text("{half")
    with LockedState(config, "test", "s1") as state:
        assert state == {}


def test_state_of_sessions_idle_for_a_week_is_pruned_when_a_new_one_starts(tmp_path: Path) -> None:
    config = ClientConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    for key in ("old", "recent"):
        with LockedState(config, "test", key) as state:
            state["x"] = 1
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / "test" / "old.json", (week_ago, week_ago))
    with LockedState(config, "test", "new") as state:
        state["x"] = 1
    remaining = sorted(path.name for path in (tmp_path / "test").iterdir())
    assert remaining == ["new.json", "new.lock", "recent.json", "recent.lock"]


def test_unreachable_gateway_spools_new_events_and_leaves_the_spool_as_it_was(
    tmp_path: Path, unused_port: int
) -> None:
    config = config_for(tmp_path, f"http://127.0.0.1:{unused_port}")
    spool = Spool(config.spool_dir)
    earlier = spool.write([event("earlier")])
    assert deliver(config, [event("now")], "test") is False
    assert Path(earlier).exists()
    batches = [batch for _, batch in spool.claim()]
    assert [[e["correlation"]["session_id"] for e in batch] for batch in batches] == [
        ["earlier"],
        ["now"],
    ]
    assert "gateway unreachable" in Path(config.log_path).read_text()


def test_delivery_replays_the_spool_and_drops_rejected_items(
    tmp_path: Path, server: Any, query: QueryClient
) -> None:
    session = str(uuid.uuid4())
    config = config_for(tmp_path, server.ingest_url)
    Spool(config.spool_dir).write([event(session)])
    bad = event(session, "run.start")
    bad["event"]["ts"] = "not a time"
    good = event(session, "run.end")
    assert deliver(config, [bad, good], "test") is True
    assert Spool(config.spool_dir).count() == 0
    assert "rejected" in Path(config.log_path).read_text()
    stored = {e["event"]["type"] for e in query.events(session_id=session)}
    assert stored == {"session.start", "run.end"}


LIGHT_ONLY = [
    "json",
    "re",
    "enum",
    "encodings.idna",
    "_hashlib",
    "httpx",
    "fastapi",
    "asyncio",
    "msgspec",
    "typing",
    "urllib.request",
    "http.client",
    "uuid",
    "agentmon.store",
    "agentmon.events",
]


def test_handlers_import_only_light_modules() -> None:
    for module in ("claude", "codex", "gemini", "hermes"):
        code = (
            f"import sys, agentmon.integrations.{module}; "
            f"print([m for m in {LIGHT_ONLY!r} if m in sys.modules])"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "[]", (module, result.stdout)


WHOLE_RUNS = {
    "claude": {
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_use_id": "t1",
    },
    "gemini": {
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-08-20T14:30:04.100Z",
        "tool_name": "run_shell_command",
        "tool_input": {"command": "ls"},
    },
}


@pytest.mark.parametrize("module", sorted(WHOLE_RUNS))
def test_a_whole_invocation_stays_light(
    run_handler: HandlerRunner, server: Any, module: str
) -> None:
    """Delivery included: nothing a handler run loads may drag in the heavy modules."""
    run_handler.env["AGENTMON_INGEST_URL"] = server.ingest_url.replace("127.0.0.1", "localhost")
    payload = json.dumps({"session_id": str(uuid.uuid4()), **WHOLE_RUNS[module]})
    heavy = [*LIGHT_ONLY, "datetime"]
    code = (
        f"import sys; sys.argv = ['agentmon-{module}-handler']; "
        f"from agentmon.integrations import {module}; {module}.main(); "
        f"print([m for m in {heavy!r} if m in sys.modules], file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=payload,
        env=run_handler.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr.strip() == "[]"
    assert run_handler.spooled_files() == []
    assert run_handler.log_lines() == []


@pytest.mark.parametrize("module", ["claude", "codex", "gemini", "hermes"])
def test_each_handler_answers_help_without_touching_the_log(
    run_handler: HandlerRunner, module: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from agentmon.integrations import {module}; {module}.main()",
            "--help",
        ],
        input="",
        env=run_handler.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith(f"usage: agentmon-{module}-handler < HOOK_JSON")
    for variable in ("AGENTMON_INGEST_URL", "AGENTMON_SPOOL_MAX_BYTES", "AGENTMON_HOOK_LOG"):
        assert variable in result.stdout
    assert run_handler.env["AGENTMON_HOOK_LOG"] in result.stdout
    assert run_handler.log_lines() == []
    assert run_handler.spooled_files() == []
