"""Claude Code usage from the transcript, through the hook mapping (pure, no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_transcripts import Transcript, text, usage, write_session, write_subagent
from integration_helpers import Replay, counted_tokens, of_type

from agentmon.integrations import claude

SESSION = "5b1e0000-0000-4000-8000-000000000001"


def hook(path: Path, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "transcript_path": str(path),
        "cwd": "/home/ada/app",
        "hook_event_name": name,
        **fields,
    }


def llm_spans(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in of_type(events, "span.end") if e["payload"]["kind"] == "llm"]


def test_a_whole_turn_counts_each_call_once_in_the_run_of_its_prompt(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-home-ada-app" / f"{SESSION}.jsonl"
    expected = write_session(Transcript(path, SESSION))
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "SessionStart", source="startup"))
    first = replay(hook(path, "UserPromptSubmit", prompt="Run the tests"))
    second = replay(hook(path, "UserPromptSubmit", prompt="Fix them"))
    replay(hook(path, "Stop"), hook(path, "SessionEnd", reason="exit"))

    assert counted_tokens(replay.events) == expected
    calls = llm_spans(replay.events)
    assert [c["payload"]["message_id"] for c in calls] == ["msg_01", "msg_02", "msg_03"]
    first_run = of_type(first, "run.start")[0]["correlation"]["run_id"]
    second_run = of_type(second, "run.start")[0]["correlation"]["run_id"]
    assert [c["correlation"]["run_id"] for c in calls] == [first_run, first_run, second_run]
    tool_call = calls[0]["payload"]
    assert tool_call["usage"]["output_tokens"] == 85  # the larger of the streamed repeats
    assert tool_call["stop_reason"] == "tool_use"
    assert tool_call["model"] == "claude-sonnet-4-6"
    assert tool_call["duration_ms"] == 4000  # from the prompt's line to the call's last line
    snapshots = of_type(replay.events, "metric.snapshot")
    assert {s["correlation"]["span_id"] for s in snapshots} == {
        c["correlation"]["span_id"] for c in calls
    }
    assert all(s["payload"]["model"] == "claude-sonnet-4-6" for s in snapshots)


def test_a_line_still_being_written_waits_for_the_next_hook(tmp_path: Path) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    t = Transcript(path, SESSION)
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "UserPromptSubmit", prompt="Explain"))
    t.write(t.prompt(0, "Explain"), t.assistant(2, "msg_a", "req_a", text("Partly"), usage(5, 10)))
    rest = t.write_partial(
        t.assistant(3, "msg_a", "req_a", text("Partly done"), usage(5, 60), "end_turn")
    )
    early = replay(hook(path, "Stop"))  # the last line is half written: nothing counted yet
    assert llm_spans(early) == []
    with path.open("a", encoding="utf-8") as handle:
        handle.write(rest)
    replay(hook(path, "Stop"))
    assert [c["payload"]["usage"]["output_tokens"] for c in llm_spans(replay.events)] == [60]


def test_a_reread_from_the_start_derives_the_same_event_ids(tmp_path: Path) -> None:
    """A resumed session appends to its file; a state lost (or a replaced file) rereads it
    all: every call comes out with the ids it had, so the store keeps one of each."""
    path = tmp_path / f"{SESSION}.jsonl"
    write_session(Transcript(path, SESSION))

    def read_all() -> list[dict[str, Any]]:
        replay = Replay(claude.map_payload, claude.session_of)
        replay(hook(path, "SessionEnd", reason="exit"))
        return llm_spans(replay.events) + of_type(replay.events, "metric.snapshot")

    first, again = read_all(), read_all()
    assert len(first) == 6
    assert [e["event"]["id"] for e in first] == [e["event"]["id"] for e in again]

    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "SessionEnd", reason="exit"))
    replay(hook(path, "SessionStart", source="resume"))
    assert llm_spans(replay(hook(path, "Stop"))) == []  # nothing new: nothing re-sent


def test_subagent_transcript_calls_are_children_of_the_agent_span(tmp_path: Path) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    agent_path = tmp_path / SESSION / "subagents" / "agent-a1.jsonl"
    expected = write_subagent(Transcript(agent_path, SESSION, sidechain=True))
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "UserPromptSubmit", prompt="Find it"))
    replay(hook(path, "SubagentStart", agent_id="a1", agent_type="Explore"))
    stopped = replay(
        hook(
            path,
            "SubagentStop",
            agent_id="a1",
            agent_type="Explore",
            agent_transcript_path=str(agent_path),
        )
    )
    calls = llm_spans(stopped)
    agent_span = next(e for e in of_type(stopped, "span.end") if e["payload"]["kind"] == "agent")
    assert len(calls) == 2
    assert {c["correlation"]["parent_span_id"] for c in calls} == {
        agent_span["correlation"]["span_id"]
    }
    assert counted_tokens(stopped) == expected


def test_a_subagent_call_appended_after_subagent_stop_is_read_by_a_later_hook(
    tmp_path: Path,
) -> None:
    """Claude Code 2.1.197 may fire SubagentStop before it appends the sub-agent's last
    call to its transcript (seen in tests/real_agents/claude): a later hook of the turn
    still reports it, under the agent span, once."""
    path = tmp_path / f"{SESSION}.jsonl"
    agent_path = tmp_path / SESSION / "subagents" / "agent-a1.jsonl"
    t = Transcript(agent_path, SESSION, sidechain=True)
    t.write(
        t.prompt(14, "Find the flaky test"),
        t.assistant(15, "msg_s1", "req_s1", text("Looking."), usage(3, 20), "tool_use"),
        t.tool_result(16, "toolu_s1", "tests/test_io.py"),
    )
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "UserPromptSubmit", prompt="Find it"))
    replay(hook(path, "SubagentStart", agent_id="a1", agent_type="Explore"))
    stop = hook(path, "SubagentStop", agent_id="a1", agent_transcript_path=str(agent_path))
    stopped = replay({**stop, "agent_type": "Explore"})
    agent_span = next(e for e in of_type(stopped, "span.end") if e["payload"]["kind"] == "agent")
    assert [c["payload"]["message_id"] for c in llm_spans(stopped)] == ["msg_s1"]
    t.write(t.assistant(17, "msg_s2", "req_s2", text("It is test_io."), usage(2, 9), "end_turn"))
    later = replay(hook(path, "PostToolUse", tool_name="Agent", tool_use_id="toolu_a"))
    (call,) = llm_spans(later)
    assert call["payload"]["message_id"] == "msg_s2"
    assert call["correlation"]["parent_span_id"] == agent_span["correlation"]["span_id"]
    assert llm_spans(replay(hook(path, "Stop"))) == []
    t.write(t.assistant(18, "msg_s3", "req_s3", text("later"), usage(1, 1), "end_turn"))
    (after_stop,) = llm_spans(replay(hook(path, "SessionEnd", reason="exit")))
    assert after_stop["payload"]["message_id"] == "msg_s3"
    t.write(t.assistant(19, "msg_s4", "req_s4", text("late"), usage(1, 1), "end_turn"))
    assert llm_spans(replay(hook(path, "SessionEnd", reason="exit"))) == []  # forgotten
    assert counted_tokens(replay.events)["output"] == 30
    # the calls read after the turn ended belong to the run that spawned the sub-agent
    (spawning,) = [e["correlation"]["run_id"] for e in of_type(replay.events, "run.start")]
    assert {c["correlation"]["run_id"] for c in llm_spans(replay.events)} == {spawning}


def test_a_subagent_call_written_after_the_turn_is_read_at_the_next_prompt(
    tmp_path: Path,
) -> None:
    """Claude Code writes transcripts every 100 ms: a sub-agent's last call can land after
    the main Stop. The next prompt's hook still reports it, once, then forgets the file."""
    path = tmp_path / f"{SESSION}.jsonl"
    agent_path = tmp_path / SESSION / "subagents" / "agent-a1.jsonl"
    t = Transcript(agent_path, SESSION, sidechain=True)
    t.write(t.prompt(14, "Find the flaky test"))
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "UserPromptSubmit", prompt="Find it"))
    replay(hook(path, "SubagentStart", agent_id="a1", agent_type="Explore"))
    stop = hook(path, "SubagentStop", agent_id="a1", agent_transcript_path=str(agent_path))
    assert llm_spans(replay({**stop, "agent_type": "Explore"})) == []
    assert llm_spans(replay(hook(path, "Stop"))) == []
    t.write(t.assistant(15, "msg_s1", "req_s1", text("Found."), usage(2, 9), "end_turn"))
    (first,) = [e["correlation"]["run_id"] for e in of_type(replay.events, "run.start")]
    (call,) = llm_spans(replay(hook(path, "UserPromptSubmit", prompt="Next")))
    assert call["payload"]["message_id"] == "msg_s1"
    assert call["correlation"]["run_id"] == first  # the run that spawned it, not the next
    t.write(t.assistant(16, "msg_s2", "req_s2", text("late"), usage(1, 1), "end_turn"))
    assert llm_spans(replay(hook(path, "Stop"))) == []


def test_sidechain_copies_and_malformed_lines_in_the_main_file_count_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    t = Transcript(path, SESSION)
    t.write(t.prompt(0, "Go"), "[1, 2", "\xff not json")
    copy = t.assistant(2, "msg_x", "req_btw", text("copy"), usage(100, 100), "end_turn")
    t.write({**copy, "isSidechain": True})
    t.write(t.assistant(3, "msg_y", "req_y", text("own"), usage(1, 2), "end_turn"))
    replay = Replay(claude.map_payload, claude.session_of)
    replay(hook(path, "UserPromptSubmit", prompt="Go"), hook(path, "Stop"))
    assert [c["payload"]["message_id"] for c in llm_spans(replay.events)] == ["msg_y"]
    assert replay.states[SESSION]["transcripts"][str(path)]["skipped"] == 2
