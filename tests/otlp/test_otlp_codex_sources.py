"""One Codex session by hooks (+ rollout), OTel logs and OTel traces: every path names the
turn, the tool call and the turn's tokens by Codex's own ids, so the store keeps one of each.

The spans and records are shaped as Codex 0.171.0 exports them (`session_task.turn` with
`turn.id` and `codex.turn.token_usage.*`, its `conversation.id` on the `codex.turn_profile`
span event; a `codex.tool.phase = dispatch` span per call; log records of the turn carrying
the turn's trace id, `codex.sse_event` none).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from otlp_messages import (
    key_values,
    log_record,
    logs_request,
    new_span_id,
    otlp_json,
    span,
    trace_request,
)
from tests.integrations.codex_rollouts import write_rollout
from tests.integrations.integration_helpers import HandlerRunner, QueryClient, Replay, of_type

from agentmon.events import Envelope
from agentmon.integrations import codex
from agentmon.integrations._hookio import derived_id
from agentmon.integrations.ids import codex_turn_usage_id
from agentmon.otlp.logs import map_logs
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.traces import map_traces

MODEL = "gpt-5.4"
FIRST_TURN_TOTALS = {  # turn t1 of codex_rollouts.write_rollout
    "input_tokens": 9120,
    "cached_input_tokens": 6400,
    "cache_write_input_tokens": 0,
    "non_cached_input_tokens": 2720,
    "output_tokens": 310,
    "reasoning_output_tokens": 128,
    "total_tokens": 9430,
}


def turn_span(trace: bytes, session: str, turn: str, totals: dict[str, int]) -> Any:
    attrs: dict[str, Any] = {"turn.id": turn, "model": MODEL}
    attrs |= {f"codex.turn.token_usage.{name}": count for name, count in totals.items()}
    turn_span = span("session_task.turn", trace, new_span_id(), attrs, start_ms=0, end_ms=900)
    turn_span.events.add(
        name="event core/src/turn_timing.rs:44",
        attributes=key_values({"event.name": "codex.turn_profile", "conversation.id": session}),
    )
    return turn_span


def tool_span(trace: bytes, session: str, turn: str, call_id: str) -> Any:
    attrs = {
        "tool_name": "exec_command",
        "conversation.id": session,
        "turn.id": turn,
        "call_id": call_id,
        "codex.tool.phase": "dispatch",
    }
    return span("exec_command", trace, new_span_id(), attrs, start_ms=100, end_ms=260)


def traced(records: list[Any], trace: bytes) -> list[Any]:
    for record in records:
        record.trace_id = trace
    return records


def mapped_traces(spans: list[Any], memory: CorrelationMemory) -> list[Envelope]:
    mapped = map_traces(trace_request(spans, "codex_exec"), memory)
    assert mapped.rejected == 0
    return mapped.events


def mapped_logs(records: list[Any], memory: CorrelationMemory) -> list[Envelope]:
    mapped = map_logs(logs_request(records, "codex_exec"), memory)
    assert mapped.rejected == 0
    return mapped.events


def hook_turn(path: Path, thread: str) -> list[dict[str, Any]]:
    """The events the hook handler sends for the rollout's first turn."""
    replay = Replay(codex.map_payload, codex.session_of)
    common = {"session_id": thread, "turn_id": f"{thread}-t1", "transcript_path": str(path)}
    replay({**common, "hook_event_name": "UserPromptSubmit", "prompt": "Run the tests"})
    replay({**common, "hook_event_name": "Stop", "last_assistant_message": "Two tests fail."})
    return replay.events


def test_the_turn_span_is_the_hooks_run_and_counts_the_turn_under_the_hooks_id(
    tmp_path: Path,
) -> None:
    thread = str(uuid.uuid4())
    turn = f"{thread}-t1"
    path = tmp_path / f"rollout-2026-08-20T07-30-00-{thread}.jsonl"
    write_rollout(path, thread)
    snapshots = of_type(hook_turn(path, thread), "metric.snapshot")
    (hook_usage,) = [s for s in snapshots if s["correlation"]["run_id"] == turn]

    trace = uuid.uuid4().bytes
    events = mapped_traces([turn_span(trace, thread, turn, FIRST_TURN_TOTALS)], CorrelationMemory())
    assert [event.type for event in events] == ["run.start", "run.end", "metric.snapshot"]
    assert {event.correlation.run_id for event in events} == {turn}
    assert {event.correlation.session_id for event in events} == {thread}
    otel_usage = events[2]
    assert otel_usage.event.id == hook_usage["event"]["id"]
    assert otel_usage.payload["usage"] == hook_usage["payload"]["usage"]
    assert events[1].payload["status"] == "ok" and events[1].payload["model"] == MODEL

    again = mapped_traces([turn_span(trace, thread, turn, FIRST_TURN_TOTALS)], CorrelationMemory())
    assert again[2].event.id == otel_usage.event.id  # a re-sent export counts nothing more


def test_a_tool_dispatch_span_opens_the_hooks_span_in_the_turn_and_internals_are_dropped() -> None:
    session, turn = str(uuid.uuid4()), str(uuid.uuid4())
    trace = uuid.uuid4().bytes
    internals = [
        span("fs.get_metadata", trace, new_span_id()),
        span("codex.sampling", trace, new_span_id(), {"turn.id": turn, "conversation.id": session}),
        span("turn/start", trace, new_span_id(), {"turn.id": turn}),
    ]
    events = mapped_traces(
        [*internals, tool_span(trace, session, turn, "call_7")], CorrelationMemory()
    )
    (start,) = events
    assert start.type == "span.start" and start.correlation.run_id == turn
    assert start.correlation.span_id == derived_id("codex", session, "span", "tool:call_7")
    assert start.payload["name"] == "exec_command" and "status" not in start.payload


def test_logs_of_a_traced_session_open_no_run_and_count_no_tokens() -> None:
    """The turn's log records carry its trace id: the trace and the hooks own the run and the
    tokens; `codex.sse_event` (no trace id) follows the session's records before it."""
    session = str(uuid.uuid4())
    common = {"conversation.id": session, "model": MODEL}
    trace = uuid.uuid4().bytes
    prompt, tool = traced(
        [
            log_record({**common, "event.name": "codex.user_prompt", "prompt": "RUN ls"}, at_ms=1),
            log_record(
                {
                    **common,
                    "event.name": "codex.tool_result",
                    "tool_name": "exec_command",
                    "call_id": "call_9",
                    "duration_ms": "12",
                    "success": "true",
                    "output": "Chunk ID: 1\nProcess exited with code 2\nOutput:\nls: nope\n",
                },
                at_ms=300,
            ),
        ],
        trace,
    )
    completed = {
        **common,
        "event.name": "codex.sse_event",
        "event.kind": "response.completed",
        "input_token_count": "200",
        "output_token_count": "12",
    }
    sse = log_record(completed, at_ms=200)
    memory = CorrelationMemory()
    events = mapped_logs([prompt, sse, tool], memory)
    assert [event.type for event in events] == ["metric.snapshot", "span.end"]
    kept, tool_end = events
    assert "usage" not in kept.payload
    assert tool_end.correlation.run_id is None  # the trace's span.start and the hooks name it
    assert tool_end.correlation.span_id == derived_id("codex", session, "span", "tool:call_9")
    assert (tool_end.payload["status"], tool_end.payload["error"]) == (
        "error",
        "exit code 2: ls: nope",
    )

    # a session first seen by its trace: its usage records count nothing either
    other = str(uuid.uuid4())
    memory = CorrelationMemory()
    mapped_traces([turn_span(trace, other, "t-1", FIRST_TURN_TOTALS)], memory)
    (kept,) = mapped_logs([log_record({**completed, "conversation.id": other})], memory)
    assert "usage" not in kept.payload


def test_a_traced_export_counts_no_tokens_whatever_the_order_of_its_records() -> None:
    """A response record ahead of the first traced record of its session in the same export
    (a split batch; another receiver got the earlier one) still counts nothing."""
    session = str(uuid.uuid4())
    common = {"conversation.id": session, "model": MODEL}
    completed = {
        **common,
        "event.name": "codex.sse_event",
        "event.kind": "response.completed",
        "input_token_count": "200",
    }
    tool = {**common, "event.name": "codex.tool_result", "call_id": "call_1", "success": "true"}
    records = [log_record(completed, at_ms=1), *traced([log_record(tool)], uuid.uuid4().bytes)]
    events = mapped_logs(records, CorrelationMemory())
    assert not [event for event in events if event.payload.get("usage")]


def test_logs_alone_still_open_a_run_and_count_each_response() -> None:
    session = str(uuid.uuid4())
    common = {"conversation.id": session, "model": MODEL}
    prompt = log_record({**common, "event.name": "codex.user_prompt", "prompt": "hi"}, at_ms=1)
    sse = log_record(
        {
            **common,
            "event.name": "codex.sse_event",
            "event.kind": "response.completed",
            "input_token_count": "200",
            "output_token_count": "12",
        },
        at_ms=2,
    )
    run_start, usage = mapped_logs([prompt, sse], CorrelationMemory())
    assert run_start.type == "run.start" and run_start.correlation.run_id
    assert usage.correlation.run_id == run_start.correlation.run_id
    assert usage.payload["usage"]["input_tokens"] == 200


def test_a_sub_agents_turn_in_its_parents_trace_is_part_of_the_parents_turn() -> None:
    """A sub-agent's turn and tools run in the trace of the parent turn that spawned it,
    under the sub-agent's own conversation id: no run or session of their own, its tokens
    under the id the hooks give them (the parent's session, the sub-agent's turn)."""
    parent, parent_turn = str(uuid.uuid4()), str(uuid.uuid4())
    agent, agent_turn = str(uuid.uuid4()), str(uuid.uuid4())
    trace = uuid.uuid4().bytes
    turn_input = {"turn.id": parent_turn, "conversation.id": parent}
    spans = [
        span("codex.turn_input", trace, new_span_id(), turn_input),
        tool_span(trace, agent, agent_turn, "call_2"),
        turn_span(trace, agent, agent_turn, FIRST_TURN_TOTALS),
    ]
    memory = CorrelationMemory()
    tool_start, usage = mapped_traces(spans, memory)
    assert (tool_start.type, usage.type) == ("span.start", "metric.snapshot")
    assert {event.correlation.session_id for event in (tool_start, usage)} == {parent}
    assert {event.correlation.run_id for event in (tool_start, usage)} == {parent_turn}
    assert tool_start.correlation.span_id == derived_id("codex", parent, "span", "tool:call_2")
    assert usage.event.id == codex_turn_usage_id(parent, agent_turn)
    assert memory.parent_sessions.get(agent) == parent

    (parent_run_end,) = [
        event
        for event in mapped_traces([turn_span(trace, parent, parent_turn, {}), *spans], memory)
        if event.type == "run.end"
    ]
    assert parent_run_end.correlation.run_id == parent_turn  # the parent's turn is its run


def test_a_sub_agents_log_records_go_to_the_session_whose_spawn_call_named_it() -> None:
    """Logs alone: the parent's `spawn_agent` result names the sub-agent's conversation; its
    records in the same export (or later) join the parent's session and current run."""
    parent, agent = str(uuid.uuid4()), str(uuid.uuid4())
    completed = {
        "event.name": "codex.sse_event",
        "event.kind": "response.completed",
        "input_token_count": "200",
        "output_token_count": "12",
    }
    records = [
        log_record({"conversation.id": parent, "event.name": "codex.user_prompt", "prompt": "x"}),
        log_record({"conversation.id": agent, "event.name": "codex.conversation_starts"}),
        log_record(
            {
                "conversation.id": parent,
                "event.name": "codex.tool_result",
                "tool_name": "spawn_agent",
                "call_id": "call_1",
                "success": "true",
                "output": f'{{"agent_id":"{agent}","nickname":"Volta"}}',
            }
        ),
        log_record({"conversation.id": agent, "event.name": "codex.user_prompt", "prompt": "y"}),
        log_record({"conversation.id": agent, **completed}),
    ]
    events = mapped_logs(records, CorrelationMemory())
    assert {event.correlation.session_id for event in events} == {parent}
    (run_start,) = [event for event in events if event.type == "run.start"]
    assert run_start.payload["input"] == "x"
    assert not [event for event in events if event.type == "session.start"]
    (usage,) = [event for event in events if event.payload.get("usage")]
    assert usage.correlation.run_id == run_start.correlation.run_id


def post_otlp(server: Any, signal: str, body: str) -> None:
    response = httpx.post(
        f"{server.otlp_url}/v1/{signal}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == (200, {})


def test_otel_first_and_resent_then_the_hooks_store_one_run_span_and_count(
    embedded_server: Any, tmp_path: Path
) -> None:
    """The order the real-CLI test cannot show (Codex exports OTel at exit, after its hooks):
    the turn's trace and logs first, each export sent twice, then the real hook handler."""
    thread = str(uuid.uuid4())
    turn = f"{thread}-t1"
    path = tmp_path / "codex" / f"rollout-2026-08-20T07-30-00-{thread}.jsonl"
    expected = write_rollout(path, thread)
    trace = uuid.uuid4().bytes
    spans = [
        turn_span(trace, thread, turn, FIRST_TURN_TOTALS),
        tool_span(trace, thread, turn, "call_1"),
    ]
    common = {"conversation.id": thread, "model": MODEL}
    records = traced(
        [
            log_record({**common, "event.name": "codex.user_prompt", "prompt": "Run the tests"}),
            log_record(
                {
                    **common,
                    "event.name": "codex.tool_result",
                    "tool_name": "exec_command",
                    "call_id": "call_1",
                    "duration_ms": "40",
                    "success": "true",
                    "output": "Process exited with code 1\nOutput:\n2 failed\n",
                },
                at_ms=400,
            ),
        ],
        trace,
    )
    completed = {**common, "event.name": "codex.sse_event", "event.kind": "response.completed"}
    records.append(log_record({**completed, "input_token_count": "9120"}, at_ms=500))
    for _ in range(2):
        post_otlp(embedded_server, "traces", otlp_json(trace_request(spans, "codex_exec")))
        post_otlp(embedded_server, "logs", otlp_json(logs_request(records, "codex_exec")))

    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTMON_")}
    env.update(
        AGENTMON_INGEST_URL=embedded_server.ingest_url,
        AGENTMON_STATE_DIR=str(tmp_path / "state"),
        AGENTMON_SPOOL_DIR=str(tmp_path / "spool"),
        AGENTMON_HOOK_LOG=str(tmp_path / "hooks.log"),
    )
    handler = HandlerRunner(env)
    hook = {"session_id": thread, "turn_id": turn, "transcript_path": str(path)}
    call = {"tool_name": "Bash", "tool_use_id": "call_1", "tool_input": {"command": "pytest"}}
    for name, fields in (
        ("UserPromptSubmit", {"prompt": "Run the tests"}),
        ("PreToolUse", call),
        ("PostToolUse", {**call, "tool_response": "Exit code: 1\n2 failed"}),
        ("Stop", {"last_assistant_message": "Two tests fail."}),
    ):
        handler("agentmon-codex-handler", {**hook, "hook_event_name": name, **fields})

    query = QueryClient(embedded_server.query_url)

    def tokens(detail: dict[str, Any]) -> dict[str, int]:
        found = detail["session"]["tokens"]
        return {name: found[name] for name in expected}

    query.wait_for_session(thread, lambda detail: tokens(detail) == expected)
    time.sleep(0.5)  # anything still being applied would add runs or tokens
    detail = query.session(thread)
    assert tokens(detail) == expected  # t1 by three paths and t2 by the hooks, each once
    runs = {run["run_id"]: run for run in detail["runs"]}
    assert sorted(runs) == sorted([turn, f"{thread}-t2"])  # t2's tokens were in the rollout
    run = runs[turn]
    assert run["input"] == "Run the tests" and run["status"] == "ok"
    (tool,) = query.run(turn)["spans"]
    assert (tool["kind"], tool["name"], tool["status"]) == ("tool", "exec_command", "error")
    assert run["error_count"] == 1 and detail["session"]["span_count"] == 1


def test_hostile_codex_turn_and_tool_spans_are_ignored_or_rejected_never_raised() -> None:
    session, trace = str(uuid.uuid4()), uuid.uuid4().bytes
    no_session = span("session_task.turn", trace, new_span_id(), {"turn.id": "t"})
    no_turn = turn_span(trace, session, "", {"input_tokens": 5})
    junk = turn_span(trace, session, "t-junk", {"input_tokens": -5, "output_tokens": 2**62})
    words = turn_span(trace, session, "t-words", {"input_tokens": "many"})  # type: ignore[dict-item]
    huge_name = tool_span(trace, session, "t", "c" * 100_000)
    no_phase = span("exec_command", trace, new_span_id(), {"call_id": "c", "turn.id": "t"})
    spans = [no_session, no_turn, junk, words, huge_name, no_phase]
    mapped = map_traces(trace_request(spans, "codex_exec"), CorrelationMemory())
    counted = [e for e in mapped.events if e.type == "metric.snapshot"]
    assert all(0 <= count < 2**63 for e in counted for count in e.payload["usage"].values()), (
        counted
    )
    runs = {e.correlation.run_id for e in mapped.events if e.type == "run.start"}
    assert "" not in runs and "t-junk" not in runs  # no turn id; negative counts: rejected
    assert mapped.rejected == 1, mapped.error_message  # the negative and oversized counts
