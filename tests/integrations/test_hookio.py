"""The shared hook plumbing: ids, clock, state locking, spool, HTTP and delivery."""

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

from agentmon.integrations import _hookio
from agentmon.integrations._hookio import (
    HookConfig,
    LockedState,
    MalformedPayload,
    Spool,
    deliver,
    derived_id,
    format_ts,
    json_dumps,
    json_loads,
    make_event,
    new_event_id,
    parse_ts,
    read_payload,
    split_batches,
)

SOURCE = {"framework": "hookio-test", "client_id": "box", "host": "box"}


def config_for(tmp_path: Path, url: str = "http://127.0.0.1:9") -> HookConfig:
    return HookConfig(
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
    assert (fresh.version, derived.version) == (4, 5)
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


@pytest.mark.parametrize(
    "value",
    [
        {"text": 'é ✓ \u2028 "quoted" \\ \n', "list": [1, -2.5, 3e-7, True, False, None]},
        {"nested": {"empty": {}, "big": 2**70, "nan": float("inf")}},
        [],
        "plain",
    ],
)
def test_json_codec_matches_the_json_package(value: Any) -> None:
    encoded = json_dumps(value)
    assert encoded == json.dumps(value, separators=(",", ":"))
    assert json_loads(f" {encoded}\n") == json.loads(encoded)


@pytest.mark.parametrize("text", ["{", '{"a": 1} x', "[1,]", "{'a': 1}", ""])
def test_json_codec_rejects_what_the_json_package_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        json_loads(text)


def test_json_codec_falls_back_to_the_json_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "_json", None)
    loads, dumps = _hookio._json_codec()
    assert loads(dumps({"a": [1, "b"]})) == {"a": [1, "b"]}
    assert loads.__module__ == "json"


def test_read_payload_takes_argv_last_only_when_asked() -> None:
    argv = ["agentmon-codex-handler", '{"type": "agent-turn-complete", "_delivery": "argv"}']
    assert read_payload(argv, lambda: "{}", from_argv=True) == {"type": "agent-turn-complete"}
    assert read_payload(argv, lambda: '{"a": 1}') == {"a": 1}
    assert read_payload(["cmd", "--verbose"], lambda: '{"b": 2}', from_argv=True) == {"b": 2}
    for text in ("", "   ", "{oops", "[1]", "null"):
        with pytest.raises(MalformedPayload):
            read_payload(["cmd"], lambda text=text: text)


def _increment(args: tuple[str, int]) -> None:
    directory, times = args
    config = HookConfig({"AGENTMON_STATE_DIR": directory})
    for _ in range(times):
        with LockedState(config, "test", "shared session/with odd:chars") as state:
            state["count"] = state.get("count", 0) + 1


def test_locked_state_serialises_concurrent_processes(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        list(pool.map(_increment, [(str(tmp_path), 25)] * 4))
    config = HookConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    with LockedState(config, "test", "shared session/with odd:chars") as state:
        assert state["count"] == 100


def test_locked_state_survives_a_corrupt_file(tmp_path: Path) -> None:
    config = HookConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    with LockedState(config, "test", "s1") as state:
        state["x"] = 1
    (tmp_path / "test" / "s1.json").write_text("{half")
    with LockedState(config, "test", "s1") as state:
        assert state == {}


def test_state_of_sessions_idle_for_a_week_is_pruned_when_a_new_one_starts(tmp_path: Path) -> None:
    config = HookConfig({"AGENTMON_STATE_DIR": str(tmp_path)})
    for key in ("old", "recent"):
        with LockedState(config, "test", key) as state:
            state["x"] = 1
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / "test" / "old.json", (week_ago, week_ago))
    with LockedState(config, "test", "new") as state:
        state["x"] = 1
    remaining = sorted(path.name for path in (tmp_path / "test").iterdir())
    assert remaining == ["new.json", "new.lock", "recent.json", "recent.lock"]


def test_spool_claims_each_file_once_in_order_and_can_put_it_back(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    spool.write([event("a")])
    spool.write([event("b")])
    claimed = spool.claim()
    assert [batch[0]["correlation"]["session_id"] for _, batch in claimed] == ["a", "b"]
    assert Spool(str(tmp_path)).claim() == []
    spool.unclaim(claimed[0][0])
    Spool.release([claimed[1][0]])
    again = spool.claim()
    assert [batch[0]["correlation"]["session_id"] for _, batch in again] == ["a"]
    assert spool.count() == 0


def test_split_batches_respects_count_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_hookio, "MAX_BATCH_EVENTS", 3)
    batches = split_batches([event(str(n)) for n in range(7)])
    assert [len(batch) for batch in batches] == [3, 3, 1]
    monkeypatch.setattr(_hookio, "MAX_BATCH_BYTES", 1)
    assert [len(batch) for batch in split_batches([event("x"), event("y")])] == [1, 1]


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


def test_http_client_reads_chunked_and_plain_answers() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = head + b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    assert json.loads(_hookio._parse_response(chunked).body) == {"a": 1}
    plain = _hookio._parse_response(b"HTTP/1.1 503 Busy\r\nRetry-After: 2\r\n\r\nbusy")
    assert (plain.status, plain.headers["retry-after"], plain.body) == (503, "2", b"busy")
    with pytest.raises(OSError):
        _hookio._parse_response(b"garbage")


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


def test_the_urllib_transport_used_for_https_speaks_to_the_gateway(
    server: Any, query: QueryClient
) -> None:
    session = str(uuid.uuid4())
    body = json_dumps([event(session)]).encode()
    headers = {"Content-Type": "application/json"}
    answer = _hookio._post_with_urllib(f"{server.ingest_url}/v1/events", body, headers, 5.0)
    assert answer.status == 200
    assert json_loads(answer.body.decode())["accepted"] == 1
    bad = _hookio._post_with_urllib(f"{server.ingest_url}/v1/events", b"{", headers, 5.0)
    assert bad.status >= 400
    assert [e["event"]["type"] for e in query.events(session_id=session)] == ["session.start"]


def test_the_spool_drops_its_oldest_batches_beyond_its_limit(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_files=3)
    paths = [spool.write([{"n": n}]) for n in range(5)]
    assert spool.trim() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in paths[2:])
    assert spool.trim() == 0
