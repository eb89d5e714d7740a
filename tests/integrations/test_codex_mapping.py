"""Codex notify and hook payloads → envelopes (the pure mapping, no I/O)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import Replay, of_type, types

from agentmon.integrations import codex
from agentmon.integrations._hookio import MalformedPayload

THREAD = "019d036d-c7fa-72d2-b6fd-78878bfe34e4"
TURN = "019d036e-3164-72c3-a170-98925564c4fc"


def hook(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": THREAD,
        "transcript_path": None,
        "cwd": "/home/ada/src/app",
        "hook_event_name": name,
        "model": "gpt-5.4",
        "permission_mode": "default",
        **fields,
    }


def notify(turn: str = TURN, **fields: Any) -> dict[str, Any]:
    return {
        "type": "agent-turn-complete",
        "thread-id": THREAD,
        "turn-id": turn,
        "cwd": "/home/ada/src/app",
        "input-messages": ["Rename foo to bar and update callsites."],
        "last-assistant-message": "Renamed; cargo build succeeds.",
        "client": "codex-tui",
        **fields,
    }


@pytest.fixture
def replay() -> Replay:
    return Replay(codex.map_payload, codex.session_of)


def test_a_full_hooked_turn(replay: Replay) -> None:
    events = replay(
        hook("SessionStart", source="startup"),
        hook("UserPromptSubmit", turn_id=TURN, prompt="Rename foo to bar"),
        hook(
            "PreToolUse",
            turn_id=TURN,
            tool_name="Bash",
            tool_input={"command": "rg foo"},
            tool_use_id="call_Xb12",
        ),
        hook(
            "PostToolUse",
            turn_id=TURN,
            tool_name="Bash",
            tool_input={"command": "rg foo"},
            tool_response={"exit_code": 0, "stdout": "src/lib.rs:12", "stderr": ""},
            tool_use_id="call_Xb12",
        ),
        hook(
            "Stop",
            turn_id=TURN,
            stop_hook_active=False,
            last_assistant_message="Renamed; cargo build succeeds.",
        ),
    )
    assert types(events) == ["session.start", "run.start", "span.start", "span.end", "run.end"]
    assert {e["correlation"]["run_id"] for e in events[1:]} == {TURN}
    assert events[3]["payload"]["status"] == "ok"
    assert events[4]["payload"]["output"] == "Renamed; cargo build succeeds."
    assert events[4]["payload"]["duration_ms"] == 3000


def test_notify_alone_recovers_session_and_run(replay: Replay) -> None:
    events = replay(notify())
    assert types(events) == ["session.start", "run.start", "run.end"]
    assert events[0]["payload"]["synthetic"] is True
    assert events[1]["payload"]["input"] == "Rename foo to bar and update callsites."
    assert events[2]["correlation"] == {"session_id": THREAD, "run_id": TURN}
    assert events[2]["attributes"]["client"] == "codex-tui"


PARENT_THREAD = "019d036d-0000-7000-8000-000000000001"
SUB_AGENT_META = {
    "id": THREAD,
    "session_id": PARENT_THREAD,
    "parent_thread_id": PARENT_THREAD,
    "source": {"subagent": {"thread_spawn": {"parent_thread_id": PARENT_THREAD, "depth": 1}}},
    "thread_source": "subagent",
}


@pytest.mark.parametrize(
    ("meta", "reported"),
    [(SUB_AGENT_META, False), ({"id": THREAD, "session_id": THREAD, "source": "exec"}, True)],
)
def test_notify_for_a_sub_agents_thread_makes_no_session(
    replay: Replay,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    meta: dict[str, Any],
    reported: bool,
) -> None:
    """Codex fires `notify` for a sub-agent's turn under the sub-agent's thread id; its
    rollout (found in $CODEX_HOME by the thread's UUID v7 date) says it is a sub-agent."""
    created = int(THREAD.replace("-", "")[:12], 16) / 1000
    folder = tmp_path / "sessions" / time.strftime("%Y/%m/%d", time.localtime(created))
    folder.mkdir(parents=True)
    record = {"timestamp": "2026-03-18T09:00:00Z", "type": "session_meta", "payload": meta}
    (folder / f"rollout-2026-03-18T09-00-00-{THREAD}.jsonl").write_text(json.dumps(record) + "\n")
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    events = replay(notify())
    assert bool(events) is reported
    if reported:
        assert types(events)[:2] == ["session.start", "run.start"]


def test_notify_after_stop_is_not_a_second_run_end(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", turn_id=TURN, prompt="go"), hook("Stop", turn_id=TURN))
    assert replay(notify()) == []


def test_usage_goes_on_run_end_and_into_one_metric_snapshot(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", turn_id=TURN, prompt="go"))
    usage = {"input_tokens": 18234, "cached_input_tokens": 16000, "output_tokens": 611}
    events = replay(hook("Stop", turn_id=TURN, usage=usage))
    assert types(events) == ["run.end", "metric.snapshot"]
    expected = {"input_tokens": 18234, "cache_read_tokens": 16000, "output_tokens": 611}
    assert events[0]["payload"]["usage"] == expected
    assert events[1]["payload"]["usage"] == expected
    assert events[1]["correlation"]["run_id"] == TURN


def test_usage_on_a_turn_never_seen_gets_synthetic_session_and_run_first(replay: Replay) -> None:
    events = replay(notify(usage={"input_tokens": 10, "output_tokens": 2}))
    assert types(events) == ["session.start", "run.start", "run.end", "metric.snapshot"]


@pytest.mark.parametrize("alias", ["userpromptsubmit", "userPromptSubmit"])
def test_prompt_submit_aliases(replay: Replay, alias: str) -> None:
    events = replay(hook(alias, turn_id=TURN, prompt="hi"))
    assert types(events) == ["session.start", "run.start"]
    assert events[1]["payload"]["input"] == "hi"


def test_session_start_and_end_aliases(replay: Replay) -> None:
    replay(
        hook("sessionStart", source="startup"), hook("UserPromptSubmit", turn_id=TURN, prompt="x")
    )
    events = replay(hook("sessionEnd"))
    assert types(events) == ["run.end", "session.end"]


def test_failed_command_is_an_error_span(replay: Replay) -> None:
    events = replay(
        hook(
            "PreToolUse",
            turn_id=TURN,
            tool_name="Bash",
            tool_input={"command": "cargo test"},
            tool_use_id="call_1",
        ),
        hook(
            "PostToolUse",
            turn_id=TURN,
            tool_name="Bash",
            tool_input={"command": "cargo test"},
            tool_response={"exit_code": 101, "stdout": "", "stderr": "test failed"},
            tool_use_id="call_1",
        ),
    )
    end = of_type(events, "span.end")[0]
    assert end["payload"]["status"] == "error"
    assert end["payload"]["error"] == "exit code 101: test failed"
    assert of_type(events, "error")[0]["correlation"]["span_id"] == end["correlation"]["span_id"]


REFUSAL = (
    "approval policy is Never; reject command \u2014 you cannot ask for escalated permissions "
    "if the approval policy is Never"
)  # what codex exec 0.171.0 answers a call asking to leave the sandbox


def _rollout_answering(tmp_path: Path, answers: dict[str, str]) -> str:
    path = tmp_path / "rollout.jsonl"
    lines = [
        {"type": "response_item", "payload": {"type": "function_call_output", **answer}}
        for answer in ({"call_id": call, "output": text} for call, text in answers.items())
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_a_call_refused_without_running_is_closed_denied_at_the_turn_end(
    replay: Replay, tmp_path: Path
) -> None:
    rollout = _rollout_answering(tmp_path, {"call_1": REFUSAL, "call_2": "Output:\nhi\n"})
    common = {"turn_id": TURN, "transcript_path": rollout, "tool_name": "Bash"}
    replay(hook("UserPromptSubmit", prompt="ESCALATE touch x", **common))
    for call in ("call_1", "call_2", "call_3"):
        replay(hook("PreToolUse", tool_input={"command": "touch x"}, tool_use_id=call, **common))
    events = replay(hook("Stop", last_assistant_message="done", **common))
    refused, answered = of_type(events, "span.end")
    assert (refused["payload"]["status"], refused["payload"]["error"]) == ("denied", REFUSAL)
    assert answered["payload"]["status"] == "ok"
    (error,) = of_type(events, "error")
    assert error["payload"]["kind"] == "permission_denied"
    assert types(events)[-1] == "run.end"  # call_3 has no answer: left to the session's end


ABORTED = "Wall time: 1.0 seconds\naborted by user"  # the TUI's answer after No (Esc)


def _aborted_turn_rollout(tmp_path: Path, turn: str, call: str) -> str:
    path = _rollout_answering(tmp_path, {call: ABORTED})
    aborted = {"type": "turn_aborted", "turn_id": turn, "reason": "interrupted"}
    with open(path, "a") as rollout:
        rollout.write(json.dumps({"type": "event_msg", "payload": aborted}) + "\n")
    return path


def test_no_to_an_approval_prompt_closes_the_call_denied_and_the_turn_cancelled(
    replay: Replay, tmp_path: Path
) -> None:
    """The TUI fires no hook after No: the session's end (or the next prompt) reads the
    rollout's `turn_aborted` and the call's "aborted by user" answer."""
    rollout = _aborted_turn_rollout(tmp_path, TURN, "call_1")
    common = {"turn_id": TURN, "transcript_path": rollout, "tool_name": "Bash"}
    replay(hook("UserPromptSubmit", prompt="ESCALATE touch x", **common))
    replay(hook("PreToolUse", tool_input={"command": "touch x"}, tool_use_id="call_1", **common))
    asked = replay(hook("PermissionRequest", tool_input={"command": "touch x"}, **common))
    assert of_type(asked, "metric.snapshot")[0]["payload"]["waiting_reason"] == "permission_prompt"
    events = replay(hook("SessionEnd", transcript_path=rollout, reason="other"))
    (span,) = of_type(events, "span.end")
    assert (span["payload"]["status"], span["payload"]["error"]) == ("denied", ABORTED)
    assert [e["payload"]["kind"] for e in of_type(events, "error")] == ["permission_denied"]
    (run_end,) = of_type(events, "run.end")
    assert (run_end["correlation"]["run_id"], run_end["payload"]["status"]) == (TURN, "cancelled")


def test_an_aborted_call_never_asked_is_cancelled_when_the_next_prompt_comes(
    replay: Replay, tmp_path: Path
) -> None:
    rollout = _aborted_turn_rollout(tmp_path, TURN, "call_1")
    common = {"turn_id": TURN, "transcript_path": rollout, "tool_name": "Bash"}
    replay(hook("UserPromptSubmit", prompt="RUN sleep 100", **common))
    replay(hook("PreToolUse", tool_input={"command": "sleep 100"}, tool_use_id="call_1", **common))
    events = replay(
        hook("UserPromptSubmit", turn_id="turn-2", transcript_path=rollout, prompt="again")
    )
    assert types(events) == ["span.end", "error", "run.end", "run.start"]
    assert events[0]["payload"]["status"] == "cancelled"
    assert events[1]["payload"]["kind"] == "cancelled"
    assert events[2]["payload"]["status"] == "cancelled"
    assert events[3]["correlation"]["run_id"] == "turn-2"


@pytest.mark.parametrize("spawn_result_first", [True, False])
def test_a_sub_agent_nests_under_its_spawn_call_in_the_parents_run(
    replay: Replay, spawn_result_first: bool
) -> None:
    """A sub-agent's hooks carry the parent's session, its `agent_id` and its own turn id;
    SubagentStart and the spawn call's PostToolUse arrive in either order."""
    child = {"agent_id": "agent-1", "agent_type": "default", "turn_id": "child-turn"}
    spawn = {"turn_id": TURN, "tool_name": "spawn_agent", "tool_use_id": "call_spawn",
             "tool_input": {"message": "RUN ls"}}  # fmt: skip
    spawned = hook("PostToolUse", tool_response=json.dumps({"agent_id": "agent-1"}), **spawn)
    replay(hook("UserPromptSubmit", turn_id=TURN, prompt="SPAWN RUN ls"))
    (spawn_start,) = of_type(replay(hook("PreToolUse", **spawn)), "span.start")
    pair = [spawned, hook("SubagentStart", **child)]
    (agent_start,) = [
        e
        for e in replay(*(pair if spawn_result_first else pair[::-1]))
        if e["event"]["type"] == "span.start"
    ]
    call = {"tool_name": "Bash", "tool_use_id": "call_child", "tool_input": {"command": "ls"}}
    child_events = replay(
        hook("UserPromptSubmit", prompt="RUN ls", **child),
        hook("PreToolUse", **call, **child),
        hook("PostToolUse", tool_response="a\n", **call, **child),
        hook("Stop", last_assistant_message="done", **child),
        hook("SubagentStop", last_assistant_message="done", **child),
    )
    events = replay(hook("Stop", turn_id=TURN, last_assistant_message="done"))
    assert not [e for e in child_events if e["event"]["type"].startswith("run.")]
    assert {e["correlation"]["run_id"] for e in child_events} == {TURN}
    spawn_span = spawn_start["correlation"]["span_id"]
    agent_span = agent_start["correlation"]["span_id"]
    tool_end, agent_end = of_type(child_events, "span.end")
    assert agent_end["correlation"]["parent_span_id"] == spawn_span
    assert tool_end["correlation"]["parent_span_id"] == agent_span
    assert [e["payload"]["status"] for e in of_type(events, "run.end")] == ["ok"]


@pytest.mark.parametrize(
    "response",
    ["[" * 100_000, "not json", json.dumps({"agent_id": 7}), json.dumps(["agent_id"]), ""],
)
def test_a_hostile_spawn_result_names_no_agent(replay: Replay, response: str) -> None:
    spawn = {"turn_id": TURN, "tool_name": "spawn_agent", "tool_use_id": "call_spawn"}
    replay(hook("UserPromptSubmit", turn_id=TURN, prompt="go"), hook("PreToolUse", **spawn))
    events = replay(hook("PostToolUse", tool_response=response, **spawn))
    assert of_type(events, "span.end")[0]["payload"]["status"] == "ok"
    assert replay.states[THREAD].get("spawned", {}) == {}


def test_stop_failure_compaction_subagents_and_permission(replay: Replay) -> None:
    events = replay(
        hook("UserPromptSubmit", turn_id=TURN, prompt="go"),
        hook("PreCompact", turn_id=TURN, trigger="auto"),
        hook("PostCompact", turn_id=TURN, trigger="auto"),
        hook("SubagentStart", turn_id=TURN, agent_id="child-1", agent_type="worker"),
        hook(
            "SubagentStop",
            turn_id=TURN,
            agent_id="child-1",
            agent_type="worker",
            last_assistant_message="done",
            stop_hook_active=False,
        ),
        hook("PermissionRequest", turn_id=TURN, tool_name="Bash", tool_input={"command": "rm"}),
        hook("StopFailure", turn_id=TURN, error="rate_limit", error_details="429"),
    )
    spans = of_type(events, "span.end")
    assert [s["payload"]["kind"] for s in spans] == ["compaction", "agent"]
    waiting = of_type(events, "metric.snapshot")[0]
    assert waiting["payload"]["agent_state"] == "waiting_for_human"
    assert of_type(events, "error")[0]["payload"] == {"message": "429", "kind": "rate_limit"}
    assert of_type(events, "run.end")[0]["payload"]["status"] == "error"


def test_malformed_payloads(replay: Replay) -> None:
    with pytest.raises(MalformedPayload):
        codex.session_of({"type": "agent-turn-complete"})
    with pytest.raises(MalformedPayload):
        replay({"session_id": THREAD})
