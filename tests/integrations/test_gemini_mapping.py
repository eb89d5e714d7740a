"""Gemini CLI hook payloads → envelopes (the pure mapping, no I/O)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import Replay, of_type, types

from agentmon.integrations import gemini

SESSION = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"


def hook(name: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "transcript_path": "/home/ada/.gemini/tmp/ab12cd/chats/session.json",
        "cwd": "/home/ada/src/app",
        "hook_event_name": name,
        "timestamp": f"2026-08-20T14:30:{at}Z",
        **fields,
    }


def before_tool(at: str, command: str) -> dict[str, Any]:
    return hook("BeforeTool", at, tool_name="run_shell_command", tool_input={"command": command})


def after_tool(at: str, command: str, error: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"llmContent": f"ran {command}", "returnDisplay": "..."}
    if error:
        response["error"] = {"message": error}
    return hook(
        "AfterTool",
        at,
        tool_name="run_shell_command",
        tool_input={"command": command},
        tool_response=response,
    )


def chunk(at: str, total: int, finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": ["..."]}}
    if finish:
        candidate["finishReason"] = finish
    return hook(
        "AfterModel",
        at,
        llm_request={"model": "gemini-2.5-pro", "messages": []},
        llm_response={"candidates": [candidate], "usageMetadata": {"totalTokenCount": total}},
    )


@pytest.fixture
def replay() -> Replay:
    return Replay(gemini.map_payload, gemini.session_of)


def test_parallel_tools_of_one_name_pair_first_in_first_out(replay: Replay) -> None:
    replay(hook("SessionStart", "00.000", source="startup"))
    replay(hook("BeforeAgent", "02.000", prompt="Why does test_parse fail?"))
    starts = replay(before_tool("04.000", "pytest a"), before_tool("04.500", "pytest b"))
    ends = replay(
        after_tool("05.000", "pytest a", error="Command exited with code 1"),
        after_tool("06.500", "pytest b"),
    )
    assert [s["payload"]["input"]["command"] for s in starts] == ["pytest a", "pytest b"]
    span_ends = of_type(ends, "span.end")
    assert [e["correlation"]["span_id"] for e in span_ends] == [
        s["correlation"]["span_id"] for s in starts
    ]
    assert [e["payload"]["duration_ms"] for e in span_ends] == [1000, 2000]
    assert [e["payload"]["status"] for e in span_ends] == ["error", "ok"]
    assert of_type(ends, "error")[0]["payload"]["message"] == "Command exited with code 1"
    assert span_ends[0]["event"]["ts"] == "2026-08-20T14:30:05.000000Z"


def test_streamed_model_chunks_fold_into_one_span(replay: Replay) -> None:
    replay(hook("BeforeAgent", "02.000", prompt="hi"))
    replay(hook("BeforeModel", "03.000", llm_request={"model": "gemini-2.5-pro", "messages": []}))
    chunks = replay(chunk("03.500", 1200), chunk("04.000", 3000))
    assert chunks == []
    final = replay(chunk("04.300", 4820, finish="STOP"))
    assert types(final) == ["span.end"]
    assert final[0]["payload"]["kind"] == "llm"
    assert final[0]["payload"]["chunks"] == 3
    assert final[0]["payload"]["duration_ms"] == 1300
    assert final[0]["payload"]["usage"] == {"total_tokens": 4820}


def test_without_a_transcript_usage_is_counted_from_the_hook_at_the_turns_end(
    replay: Replay,
) -> None:
    replay(hook("BeforeAgent", "02.000", prompt="hi"), chunk("03.000", 900, finish="STOP"))
    events = replay(hook("AfterAgent", "04.000", prompt="hi", prompt_response="hello"))
    assert types(events) == ["metric.snapshot", "run.end"]
    assert events[0]["payload"]["usage"] == {"total_tokens": 900}
    assert events[0]["payload"]["model"] == "gemini-2.5-pro"
    assert events[1]["payload"]["output"] == "hello"
    assert events[1]["payload"]["model"] == "gemini-2.5-pro"


def test_usage_comes_from_the_transcript_once_per_reply(replay: Replay, tmp_path: Path) -> None:
    transcript = tmp_path / "session.jsonl"
    reply = {
        "id": "r1",
        "type": "gemini",
        "model": "gemini-2.5-pro",
        "tokens": {"input": 1000, "output": 20, "cached": 600, "thoughts": 30, "total": 1050},
    }
    at_path = {"transcript_path": str(transcript)}
    replay(hook("BeforeAgent", "02.000", prompt="hi", **at_path))
    replay({**chunk("03.000", 1050, finish="STOP"), **at_path})
    # once the reply is complete Gemini writes it, then rewrites it (same id) with its tools
    transcript.write_text(json.dumps(reply) + "\n" + json.dumps({**reply, "toolCalls": []}) + "\n")
    events = replay(hook("AfterAgent", "04.000", prompt="hi", prompt_response="x", **at_path))
    snapshots = of_type(events, "metric.snapshot")
    assert [s["payload"]["usage"] for s in snapshots] == [
        {
            "input_tokens": 400,
            "output_tokens": 20,
            "cache_read_tokens": 600,
            "reasoning_tokens": 30,
            "total_tokens": 1050,
        }
    ]
    assert (
        snapshots[0]["correlation"]["span_id"]
        == of_type(replay.events, "span.end")[0]["correlation"]["span_id"]
    )


def test_a_shell_exit_code_in_the_output_fails_the_tool(replay: Replay) -> None:
    replay(hook("BeforeAgent", "02.000", prompt="hi"), before_tool("03.000", "ls nope"))
    response = {"llmContent": "Output: no such file\nExit Code: 2\nProcess Group PGID: 7"}
    events = replay(
        hook(
            "AfterTool",
            "04.000",
            tool_name="run_shell_command",
            tool_input={"command": "ls nope"},
            tool_response={**response, "returnDisplay": "no such file"},
        )
    )
    assert of_type(events, "span.end")[0]["payload"]["status"] == "error"
    assert of_type(events, "span.end")[0]["payload"]["exit_code"] == 2
    assert of_type(events, "error")[0]["payload"]["message"] == "exit code 2: no such file"


def request(at: str, messages: int) -> dict[str, Any]:
    llm_request = {"model": "gemini-2.5-pro", "messages": [{"role": "user"}] * messages}
    return hook("BeforeModel", at, llm_request=llm_request)


def test_a_pre_compress_that_compressed_nothing_is_ignored(replay: Replay) -> None:
    replay(hook("BeforeAgent", "00.000", prompt="hi"), request("01.000", 4))
    events = replay(hook("PreCompress", "02.000", trigger="auto"), request("03.000", 6))
    assert "compaction" not in [e["payload"].get("kind") for e in events]


def test_a_compression_shows_as_a_shorter_next_request(replay: Replay) -> None:
    replay(hook("BeforeAgent", "00.000", prompt="hi"), request("01.000", 40))
    events = replay(hook("PreCompress", "02.000", trigger="auto"), request("04.000", 3))
    compaction = [e for e in events if e["payload"].get("kind") == "compaction"]
    assert types(compaction) == ["span.start", "span.end"]
    assert compaction[1]["payload"]["duration_ms"] == 2000
    assert compaction[1]["payload"]["messages_after"] == 3


def test_tool_permission_notification_marks_waiting(replay: Replay) -> None:
    events = replay(
        hook(
            "Notification",
            "01.000",
            notification_type="ToolPermission",
            message="Allow run_shell_command?",
            details={},
        )
    )
    assert events[-1]["payload"]["waiting_reason"] == "permission_prompt"


def test_original_aliases(replay: Replay) -> None:
    events = replay(
        hook("onStart", "00.000", prompt="hello"),
        hook("onToolCall", "01.000", tool_name="read_file", tool_input={"path": "a"}),
        hook("onToolResult", "02.000", tool_name="read_file", tool_response={"llmContent": "x"}),
        hook("onStop", "03.000", prompt_response="bye"),
    )
    assert types(events) == [
        "session.start",
        "run.start",
        "span.start",
        "span.end",
        "run.end",
        "session.end",
    ]


def test_session_end(replay: Replay) -> None:
    replay(hook("SessionStart", "00.000", source="startup"))
    events = replay(hook("SessionEnd", "40.000", reason="exit"))
    assert types(events) == ["session.end"]
    assert events[0]["payload"] == {"reason": "exit", "duration_ms": 40000}


def test_a_hostile_transcript_counts_only_well_formed_replies(
    replay: Replay, tmp_path: Path
) -> None:
    transcript = tmp_path / "session.jsonl"
    good = {"id": "ok", "type": "gemini", "tokens": {"input": 10, "output": 2, "total": 12}}
    lines = [
        b'not json at all, but it says "tokens"',
        b"[" * 5000 + b'"tokens"' + b"]" * 5000,  # nested deeper than the parser allows
        json.dumps({"type": "gemini", "id": 7, "tokens": {"input": 1}}).encode(),
        json.dumps({"type": "gemini", "id": "s", "tokens": "many"}).encode(),
        json.dumps({"type": "user", "id": "u", "tokens": {"input": 1}}).encode(),
        b'\xff\xfe"tokens" \x00 binary',
        json.dumps(good).encode(),
        json.dumps({**good, "id": "half"}).encode()[:30],  # a line still being written
    ]
    at_path = {"transcript_path": str(transcript)}
    replay(hook("BeforeAgent", "02.000", prompt="hi", **at_path))
    replay({**chunk("03.000", 12, finish="STOP"), **at_path})
    transcript.write_bytes(b"\n".join(lines))
    events = replay(hook("AfterAgent", "04.000", prompt="hi", prompt_response="x", **at_path))
    usages = [e["payload"]["usage"] for e in of_type(events, "metric.snapshot")]
    assert usages == [{"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}]
    missing = replay(hook("BeforeAgent", "05.000", prompt="again", transcript_path="/nonexistent"))
    assert types(missing) == ["run.start"]


def test_a_call_refused_in_the_tui_cancels_the_turn_at_the_next_hook(
    replay: Replay, tmp_path: Path
) -> None:
    """The TUI's "No" (as Gemini CLI 0.61 records it, tests/real_agents/gemini/
    test_gemini_tui.py): no hook after the Notification; the transcript has the refused
    call in the reply's toolCalls, "Request cancelled.", then the history written again
    under new ids and a checkpoint of it. The next prompt's BeforeAgent reads all that."""
    transcript = tmp_path / "session.jsonl"
    at_path = {"transcript_path": str(transcript)}
    refusal = "[Operation Cancelled] Reason: User denied execution."
    answer = {"functionResponse": {"id": "c1", "name": "run_shell_command", "response": {}}}
    answer["functionResponse"]["response"] = {"error": refusal}
    reply = {"id": "r1", "type": "gemini", "content": "", "tokens": {"input": 10, "total": 12}}
    call = {"id": "c1", "name": "run_shell_command", "status": "cancelled", "result": [answer]}
    again = [
        {"id": "u9", "type": "user", "content": [{"text": "<session_context>…"}]},
        {"id": "g9", "type": "gemini", "content": [{"text": "Earlier."}], "tokens": None},
    ]
    lines = [
        {"id": "u1", "type": "user", "content": [{"text": "touch it"}]},
        reply,
        {**reply, "toolCalls": [call]},
        {"id": "i1", "type": "info", "content": "Request cancelled."},
        *again,
        {"$set": {"messages": again}},
    ]
    replay(hook("BeforeAgent", "01.000", prompt="touch it", **at_path))
    replay(hook("BeforeModel", "02.000", llm_request={"model": "m", "messages": [1]}))
    replay({**chunk("03.000", 12, finish="STOP"), **at_path})
    replay({**before_tool("04.000", "touch x"), **at_path})
    waiting = replay(
        hook(
            "Notification",
            "05.000",
            notification_type="ToolPermission",
            message="Tool Confirm Shell Command requires execution",
            details={"type": "exec", "title": "Confirm Shell Command", "command": "touch x"},
        )
    )
    assert waiting[-1]["payload"]["message"] == "Confirm Shell Command: touch x"
    transcript.write_text("".join(json.dumps(line) + "\n" for line in lines))
    events = replay(hook("BeforeAgent", "09.000", prompt="next", **at_path))
    events += replay(hook("BeforeModel", "10.000", llm_request={"model": "m", "messages": [1]}))
    (tool_end,) = [e for e in of_type(events, "span.end") if e["payload"]["kind"] == "tool"]
    assert (tool_end["payload"]["status"], tool_end["payload"]["error"]) == ("denied", refusal)
    assert [e["payload"]["kind"] for e in of_type(events, "error")] == ["permission_denied"]
    (first_end,) = of_type(events, "run.end")
    assert first_end["payload"]["status"] == "cancelled"
    assert first_end["correlation"]["run_id"] == tool_end["correlation"]["run_id"]
    assert len(of_type(events, "metric.snapshot")) == 1  # the reply, not the repeat
    assert "compaction" not in {e["payload"].get("kind") for e in of_type(events, "span.start")}
