"""Claude Code hook payloads → envelopes (the pure mapping, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from integration_helpers import Replay, of_type, types

from agentmon.integrations import claude
from agentmon.integrations._hookio import MalformedPayload

SESSION = "9b2f0c3a-1d4e-4f5a-8b6c-7d8e9f0a1b2c"


def hook(name: str, session: str = SESSION, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": f"/home/ada/.claude/projects/-home-ada-src-app/{session}.jsonl",
        "cwd": "/home/ada/src/app",
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


def pre(tool_use_id: str, tool: str = "Bash", **extra: Any) -> dict[str, Any]:
    return hook(
        "PreToolUse",
        tool_name=tool,
        tool_input={"command": "pytest -q"},
        tool_use_id=tool_use_id,
        **extra,
    )


def post(tool_use_id: str, tool: str = "Bash", **extra: Any) -> dict[str, Any]:
    return hook(
        "PostToolUse",
        tool_name=tool,
        tool_input={"command": "pytest -q"},
        tool_response={"stdout": "1 passed", "stderr": "", "interrupted": False},
        tool_use_id=tool_use_id,
        **extra,
    )


@pytest.fixture
def replay() -> Replay:
    return Replay(claude.map_payload, claude.session_of)


def test_a_turn_with_two_parallel_tools_of_one_name_and_a_failure(replay: Replay) -> None:
    replay(hook("SessionStart", source="startup", model="claude-sonnet-4-6"))
    replay(hook("UserPromptSubmit", prompt="Fix the failing test"))
    replay(pre("toolu_A"), pre("toolu_B"), post("toolu_B"))
    replay(
        hook(
            "PostToolUseFailure",
            tool_name="Bash",
            tool_input={},
            tool_use_id="toolu_A",
            error="Command timed out",
            is_interrupt=False,
        )
    )
    replay(hook("Stop", stop_hook_active=False))
    events = replay.events

    assert types(events) == [
        "session.start",
        "run.start",
        "span.start",
        "span.start",
        "span.end",
        "span.end",
        "error",
        "run.end",
    ]
    run_id = events[1]["correlation"]["run_id"]
    assert all(e["correlation"].get("run_id") == run_id for e in events[1:])
    starts, ends = of_type(events, "span.start"), of_type(events, "span.end")
    assert {s["correlation"]["span_id"] for s in starts} == {
        e["correlation"]["span_id"] for e in ends
    }
    failed = next(e for e in ends if e["payload"]["tool_use_id"] == "toolu_A")
    assert failed["payload"]["status"] == "error"
    assert failed["payload"]["duration_ms"] == 3000
    assert of_type(events, "error")[0]["correlation"]["span_id"] == failed["correlation"]["span_id"]
    assert of_type(events, "run.end")[0]["payload"]["status"] == "ok"
    assert events[0]["payload"]["model"] == "claude-sonnet-4-6"


def test_span_and_event_ids_are_derived_from_session_and_tool_use_id(replay: Replay) -> None:
    first = replay(pre("toolu_same"))[-1]
    other = replay(pre("toolu_same", session="another-session"))[-1]
    again = Replay(claude.map_payload, claude.session_of)(pre("toolu_same"))[-1]
    assert first["correlation"]["span_id"] == again["correlation"]["span_id"]
    assert first["correlation"]["span_id"] != other["correlation"]["span_id"]
    assert first["payload"]["tool_use_id"] == "toolu_same"
    # the same tool call reported twice (live, then by `agentmon import`) is stored once
    assert first["event"]["id"] == again["event"]["id"]
    assert first["event"]["id"] != other["event"]["id"]


def test_hooks_without_a_session_start_open_a_synthetic_session_and_run(replay: Replay) -> None:
    events = replay(post("toolu_orphan"))
    assert types(events) == ["session.start", "run.start", "span.end"]
    assert events[0]["payload"] == {"synthetic": True}
    assert "duration_ms" not in events[2]["payload"]


def test_a_second_prompt_before_stop_closes_the_first_run_as_unknown(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="one"))
    events = replay(hook("UserPromptSubmit", prompt="two"))
    assert types(events) == ["run.end", "run.start"]
    assert events[0]["payload"]["status"] == "unknown"
    assert events[0]["correlation"]["run_id"] != events[1]["correlation"]["run_id"]
    assert events[1]["payload"]["input"] == "two"


def test_stop_failure_reports_an_error_and_a_failed_run(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="go"))
    events = replay(hook("StopFailure", error_type="rate_limit"))
    assert types(events) == ["error", "run.end"]
    assert events[0]["payload"]["kind"] == "rate_limit"
    assert events[1]["payload"]["status"] == "error"


def test_interrupted_tool_is_cancelled(replay: Replay) -> None:
    replay(pre("toolu_I"))
    events = replay(
        hook(
            "PostToolUseFailure",
            tool_name="Bash",
            tool_input={},
            tool_use_id="toolu_I",
            error="interrupted",
            is_interrupt=True,
        )
    )
    assert of_type(events, "span.end")[0]["payload"]["status"] == "cancelled"


def test_subagent_tools_are_children_of_the_subagent_span(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="research"))
    agent = replay(hook("SubagentStart", agent_id="a1", agent_type="general-purpose"))[-1]
    tool = replay(pre("toolu_S", tool="Read", agent_id="a1", agent_type="general-purpose"))[-1]
    stop = replay(
        hook(
            "SubagentStop",
            agent_id="a1",
            agent_type="general-purpose",
            stop_hook_active=False,
            last_assistant_message="found it",
        )
    )[-1]
    assert agent["payload"]["kind"] == "agent"
    assert tool["correlation"]["parent_span_id"] == agent["correlation"]["span_id"]
    assert stop["correlation"]["span_id"] == agent["correlation"]["span_id"]
    assert stop["payload"]["output"] == "found it"


def test_compaction_is_a_span(replay: Replay) -> None:
    events = replay(
        hook("PreCompact", trigger="auto", custom_instructions=None),
        hook("PostCompact", trigger="auto"),
    )
    spans = [e for e in events if e["event"]["type"].startswith("span.")]
    assert [s["payload"]["kind"] for s in spans] == ["compaction", "compaction"]
    assert spans[1]["payload"]["duration_ms"] == 1000


def test_permission_request_and_idle_notification_mark_the_session_waiting(replay: Replay) -> None:
    permission = replay(hook("PermissionRequest", tool_name="Bash", tool_input={"command": "rm x"}))
    idle = replay(
        hook(
            "Notification",
            message="Claude is waiting for your input",
            notification_type="idle_prompt",
        )
    )
    auth = replay(hook("Notification", message="ok", notification_type="auth_success"))
    snapshots = of_type(permission + idle, "metric.snapshot")
    assert [s["payload"]["waiting_reason"] for s in snapshots] == [
        "permission_prompt",
        "idle_prompt",
    ]
    assert all(s["payload"]["agent_state"] == "waiting_for_human" for s in snapshots)
    assert snapshots[1]["payload"]["message"] == "Claude is waiting for your input"
    assert auth == []


# the hook inputs as Claude Code 2.1.197 builds them (read from the binary's hook calls)
TASK: dict[str, Any] = {
    "task_id": "3",
    "task_subject": "Write the tests",
    "task_description": "cover Stop",
}
TEAM: dict[str, Any] = {"teammate_name": None, "team_name": None}


def test_a_task_of_the_task_list_is_a_task_span_until_completed(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="plan it", prompt_id="p-1"))
    created = replay(hook("TaskCreated", prompt_id="p-1", **TASK, **TEAM))
    completed = replay(hook("TaskCompleted", prompt_id="p-1", **TASK, **TEAM))
    (start,) = of_type(created, "span.start")
    (end,) = of_type(completed, "span.end")
    assert start["correlation"]["span_id"] == end["correlation"]["span_id"]
    assert start["correlation"]["run_id"] == end["correlation"]["run_id"] == "p-1"
    assert (start["payload"]["kind"], start["payload"]["name"]) == ("task", "Write the tests")
    assert start["payload"]["input"] == "cover Stop" and start["payload"]["task_id"] == "3"
    assert (end["payload"]["status"], end["payload"]["duration_ms"]) == ("ok", 1000)


def test_an_elicitation_waits_for_a_human_and_its_answer_ends_its_span(replay: Replay) -> None:
    asked = {"mcp_server_name": "tracker", "elicitation_id": "e-1", "mode": "form"}
    events = replay(
        hook("Elicitation", **asked, message="Which project?", url=None, requested_schema={}),
        hook("ElicitationResult", **asked, action="accept", content={"project": "agentmon"}),
        hook("Elicitation", **{**asked, "elicitation_id": "e-2"}, message="Token?"),
        hook("ElicitationResult", **{**asked, "elicitation_id": "e-2"}, action="decline"),
    )
    (waiting, again) = of_type(events, "metric.snapshot")
    assert (waiting["payload"]["waiting_reason"], waiting["payload"]["message"]) == (
        "elicitation_dialog",
        "Which project?",
    )
    assert again["payload"]["message"] == "Token?"
    answered, declined = of_type(events, "span.end")
    assert (answered["payload"]["kind"], answered["payload"]["name"]) == ("elicitation", "tracker")
    assert answered["payload"]["status"] == "ok"
    assert answered["payload"]["output"] == {"project": "agentmon"}
    assert (declined["payload"]["status"], declined["payload"]["action"]) == ("denied", "decline")


def test_session_end_closes_what_is_open(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="go"), pre("toolu_open"))
    events = replay(hook("SessionEnd", reason="prompt_input_exit"))
    assert types(events) == ["span.end", "run.end", "session.end"]
    assert events[0]["payload"]["status"] == "cancelled"
    assert events[1]["payload"]["status"] == "unknown"
    assert events[2]["payload"]["reason"] == "prompt_input_exit"


def test_unknown_hook_names_map_to_nothing_and_missing_names_are_malformed(replay: Replay) -> None:
    assert replay(hook("TeammateIdle", teammate_name="ada", team_name="core")) == []
    with pytest.raises(MalformedPayload):
        replay({"session_id": SESSION})
    with pytest.raises(MalformedPayload):
        claude.session_of({"hook_event_name": "Stop"})


def test_out_of_order_tool_end_before_start_leaves_no_span_open(replay: Replay) -> None:
    replay(hook("UserPromptSubmit", prompt="go"))
    end = replay(post("toolu_late"))
    start = replay(pre("toolu_late"))
    assert types(end) == ["span.end"]
    assert types(start) == ["span.start"]
    assert start[0]["correlation"]["span_id"] == end[0]["correlation"]["span_id"]
    assert replay(hook("SessionEnd", reason="other"))[0]["event"]["type"] == "run.end"


def test_a_tool_end_after_the_turn_end_stays_in_its_run(replay: Replay) -> None:
    started = replay(hook("UserPromptSubmit", prompt="go"), pre("toolu_slow"))
    replay(hook("Stop", stop_hook_active=False))
    late = replay(post("toolu_slow"))
    assert types(late) == ["span.end"]
    assert (
        late[0]["correlation"]["run_id"]
        == of_type(started, "run.start")[0]["correlation"]["run_id"]
    )


def test_notifications_of_older_builds_without_a_type_still_mark_waiting(replay: Replay) -> None:
    asked = replay(hook("Notification", message="Claude needs your permission to use Bash"))
    idle = replay(hook("Notification", message="Claude is waiting for your input"))
    reasons = [e["payload"]["waiting_reason"] for e in of_type(asked + idle, "metric.snapshot")]
    assert reasons == ["permission_prompt", "idle_prompt"]
