"""Hook orders the real Claude Code (2.1.197) produces that payloads written from the docs
did not: it does not wait for StopFailure, so SessionEnd can be handled first."""

from __future__ import annotations

from integration_helpers import Replay, of_type

from agentmon.integrations import claude


def test_a_stop_failure_after_session_end_still_fails_the_run() -> None:
    replay = Replay(claude.map_payload, claude.session_of)
    base = {"session_id": "s-order", "prompt_id": "p-1"}
    replay(
        {**base, "hook_event_name": "SessionStart"},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "x"},
        {**base, "hook_event_name": "SessionEnd", "reason": "other"},
        {
            **base,
            "hook_event_name": "StopFailure",
            "error": "unknown",
            "last_assistant_message": "API Error: 400 boom",
        },
    )
    ends = of_type(replay.events, "run.end")
    assert [end["payload"]["status"] for end in ends] == ["unknown", "error"]
    assert ends[-1]["payload"]["error"] == "API Error: 400 boom"
    assert len({end["event"]["id"] for end in ends}) == 2  # the correction is not deduplicated
    assert {end["correlation"]["run_id"] for end in ends} == {"p-1"}
    (error,) = of_type(replay.events, "error")
    assert error["payload"]["message"] == "API Error: 400 boom"
