"""The pure span mapping: GenAI spans → runs, spans, usage and errors."""

from __future__ import annotations

import hashlib
import uuid

from otlp_messages import key_values, new_span_id, new_trace_id, span, trace_request

from agentmon.events import Envelope, EventType
from agentmon.otlp.build import OTLP_NAMESPACE, derived_id, event_id
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.traces import map_traces


def by_type(events: list[Envelope], event_type: str) -> list[Envelope]:
    return [e for e in events if e.type == event_type]


def one(events: list[Envelope], event_type: str, span_id: str | None = None) -> Envelope:
    candidates = by_type(events, event_type)
    found = [e for e in candidates if span_id is None or e.correlation.span_id == span_id]
    assert len(found) == 1, f"{len(found)} {event_type} events for span {span_id}"
    return found[0]


def agent_turn(conversation: str = "conv-1") -> tuple[bytes, list]:
    trace, root, chat, tool = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    spans = [
        span(
            "execute_tool Bash",
            trace,
            tool,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "Bash",
                "gen_ai.tool.call.id": "call_1",
                "gen_ai.tool.call.arguments": '{"command": "ls"}',
            },
            parent=root,
            start_ms=300,
            end_ms=900,
        ),
        span(
            "chat claude-sonnet-4-6",
            trace,
            chat,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-6",
                "gen_ai.conversation.id": conversation,
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 80,
                "gen_ai.usage.cache_read.input_tokens": 900,
            },
            parent=root,
            start_ms=10,
            end_ms=250,
        ),
        span(
            "invoke_agent coder",
            trace,
            root,
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "coder",
                "gen_ai.conversation.id": conversation,
                "gen_ai.request.model": "claude-sonnet-4-6",
            },
            start_ms=0,
            end_ms=1000,
        ),
    ]
    return trace, spans


def test_an_agent_trace_becomes_a_run_with_llm_and_tool_spans() -> None:
    trace, spans = agent_turn()
    mapped = map_traces(trace_request(spans, "claude-code"), CorrelationMemory())
    events, run_id = mapped.events, trace.hex()

    assert mapped.rejected == 0
    assert {e.event.source.framework for e in events} == {"claude-code"}
    assert {e.correlation.session_id for e in events} == {"conv-1"}
    assert {e.correlation.run_id for e in events} == {run_id}
    run_start, run_end = one(events, "run.start"), one(events, "run.end")
    assert run_start.payload["agent"] == "coder"
    assert run_start.payload["model"] == "claude-sonnet-4-6"
    assert run_end.payload["status"] == "ok"
    assert run_end.payload["duration_ms"] == 1000

    tool_id, chat_id, root_id = (s.span_id.hex() for s in spans)
    tool_end = one(events, "span.end", tool_id)
    assert tool_end.payload["kind"] == "tool"
    assert tool_end.payload["name"] == "Bash"
    assert tool_end.payload["tool_call_id"] == "call_1"
    assert tool_end.payload["duration_ms"] == 600
    assert tool_end.correlation.parent_span_id == root_id
    assert tool_end.payload["started_at"].endswith("14:30:00.300000Z")

    llm_end = one(events, "span.end", chat_id)
    assert llm_end.payload["kind"] == "llm"
    assert llm_end.payload["name"] == "claude-sonnet-4-6"
    assert llm_end.payload["provider"] == "anthropic"
    usage = one(events, "metric.snapshot", chat_id).payload
    assert usage["usage"] == {
        "input_tokens": 1200,
        "output_tokens": 80,
        "cache_read_tokens": 900,
        "total_tokens": 1280,
    }
    assert usage["model"] == "claude-sonnet-4-6"
    assert root_id not in {e.correlation.span_id for e in by_type(events, "span.end")}


def test_the_session_of_a_trace_is_remembered_across_exports() -> None:
    memory = CorrelationMemory()
    trace, spans = agent_turn("conv-remembered")
    tool_span, chat_span, root_span = spans
    map_traces(trace_request([chat_span]), memory)

    later = map_traces(trace_request([tool_span, root_span]), memory)
    assert {e.correlation.session_id for e in later.events} == {"conv-remembered"}

    forgotten = map_traces(trace_request([tool_span]), CorrelationMemory())
    assert {e.correlation.session_id for e in forgotten.events} == {trace.hex()}


def test_tool_call_id_and_custom_operation_names_are_understood() -> None:
    trace, root = new_trace_id(), new_span_id()
    tool = span(
        "tool_call",
        trace,
        new_span_id(),
        {
            "gen_ai.operation.name": "tool_call",
            "gen_ai.tool.name": "run_shell_command",
            "gen_ai.tool.call_id": "gem-call-7",
        },
        parent=root,
    )
    mapped = map_traces(trace_request([tool], "my-agent"), CorrelationMemory())
    end = one(mapped.events, "span.end")
    assert end.event.source.framework == "my-agent"
    assert (end.payload["kind"], end.payload["name"]) == ("tool", "run_shell_command")
    assert end.payload["tool_call_id"] == "gem-call-7"


def test_gemini_cli_spans_repeat_its_log_events_and_are_dropped() -> None:
    """Gemini CLI 0.61's `llm_call` and `schedule_tool_calls` spans are trace roots of their
    own: mapped, each would become a run (tests/real_agents/gemini/test_gemini_otel.py)."""
    trace = new_trace_id()
    llm = span("llm_call", trace, new_span_id(), {"gen_ai.operation.name": "llm_call"})
    mapped = map_traces(trace_request([llm], "gemini-cli"), CorrelationMemory())
    assert mapped.events == [] and mapped.rejected == 0


def test_failed_spans_end_in_error_and_report_an_error_event() -> None:
    trace, root, tool = new_trace_id(), new_span_id(), new_span_id()
    spans = [
        span(
            "execute_tool Read",
            trace,
            tool,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "Read",
            },
            parent=root,
            error="file not found",
        ),
        span(
            "invoke_agent",
            trace,
            root,
            {"gen_ai.operation.name": "invoke_agent"},
            error="tool failed",
        ),
    ]
    events = map_traces(trace_request(spans), CorrelationMemory()).events
    tool_end = one(events, "span.end", tool.hex())
    assert (tool_end.payload["status"], tool_end.payload["error"]) == ("error", "file not found")
    assert one(events, "error", tool.hex()).payload == {"message": "file not found", "kind": "tool"}
    run_end = one(events, "run.end")
    assert (run_end.payload["status"], run_end.payload["error"]) == ("error", "tool failed")
    assert one(events, "error", root.hex()).payload["kind"] == "agent"


def test_unrecognised_spans_are_kept_as_generic_spans_of_their_kind() -> None:
    trace, root, child = new_trace_id(), new_span_id(), new_span_id()
    spans = [
        span("SELECT users", trace, child, {"db.system": "sqlite"}, parent=root, kind=3),
        span("GET /api", trace, root, {"http.method": "GET"}, kind=2),
    ]
    events = map_traces(trace_request(spans, "billing"), CorrelationMemory()).events
    child_end = one(events, "span.end", child.hex())
    assert (child_end.payload["kind"], child_end.payload["name"]) == ("client", "SELECT users")
    assert child_end.attributes == {"db.system": "sqlite"}
    root_end = one(events, "span.end", root.hex())
    assert (root_end.payload["kind"], root_end.payload["name"]) == ("server", "GET /api")
    assert one(events, "run.end").payload["status"] == "ok"
    assert {e.event.source.framework for e in events} == {"billing"}


def test_openclaw_counts_usage_from_usage_spans_not_model_calls() -> None:
    trace, root, call, usage = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    spans = [
        span(
            "openclaw.model.call",
            trace,
            call,
            {
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-6",
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": 1820,
            },
            parent=root,
        ),
        span(
            "openclaw.model.usage",
            trace,
            usage,
            {
                "openclaw.tokens.input": 1820,
                "openclaw.tokens.output": 212,
                "openclaw.tokens.cache_read": 12000,
                "openclaw.tokens.cache_write": 0,
                "openclaw.tokens.total": 14032,
                "openclaw.model": "claude-sonnet-4-6",
            },
            parent=root,
        ),
        span(
            "openclaw.tool.execution",
            trace,
            new_span_id(),
            {
                "openclaw.toolName": "exec",
                "gen_ai.operation.name": "execute_tool",
            },
            parent=root,
        ),
        span("openclaw.run", trace, root, {"openclaw.model": "claude-sonnet-4-6"}),
    ]
    events = map_traces(trace_request(spans, "openclaw-gateway"), CorrelationMemory()).events
    snapshots = by_type(events, "metric.snapshot")
    assert [s.payload["usage"] for s in snapshots] == [
        {
            "input_tokens": 1820,
            "output_tokens": 212,
            "cache_read_tokens": 12000,
            "cache_write_tokens": 0,
            "total_tokens": 14032,
        }
    ]
    assert one(events, "span.end", call.hex()).payload["kind"] == "llm"
    tool_names = [
        e.payload["name"] for e in by_type(events, "span.end") if e.payload["kind"] == "tool"
    ]
    assert tool_names == ["exec"]
    assert one(events, "run.start").event.source.framework == "openclaw"


def test_spans_with_invalid_ids_are_rejected_and_the_rest_kept() -> None:
    trace = new_trace_id()
    good = span("chat m", trace, new_span_id(), {"gen_ai.operation.name": "chat"}, parent=b"p" * 8)
    short_trace = span("bad", b"\x01" * 8, new_span_id())
    zero_span = span("bad too", trace, b"\x00" * 8)
    mapped = map_traces(trace_request([good, short_trace, zero_span]), CorrelationMemory())
    assert mapped.rejected == 2
    assert "trace_id must be 16 non-zero bytes" in mapped.error_message
    assert "span_id must be 8 non-zero bytes" in mapped.error_message
    assert len(by_type(mapped.events, "span.end")) == 1


def test_an_llm_spans_usage_snapshot_has_the_span_end_usage_in_a_dict_of_its_own() -> None:
    """The snapshot reuses what the span.end read from the attributes (read once), but not
    the same dict: redaction rewrites payloads in place, one event at a time."""
    _, spans = agent_turn()
    events = map_traces(trace_request(spans, "claude-code"), CorrelationMemory()).events
    chat, tool = spans[1].span_id.hex(), spans[0].span_id.hex()
    end, snapshot = one(events, "span.end", chat), one(events, "metric.snapshot", chat)
    usage = {
        "input_tokens": 1200,
        "output_tokens": 80,
        "cache_read_tokens": 900,
        "total_tokens": 1280,
    }
    assert end.payload["usage"] == snapshot.payload["usage"] == usage
    assert end.payload["usage"] is not snapshot.payload["usage"]
    assert end.payload["model"] == snapshot.payload["model"] == "claude-sonnet-4-6"
    assert "usage" not in one(events, "span.end", tool).payload  # no usage attribute, no usage


def test_mapping_the_same_export_twice_gives_the_same_event_ids() -> None:
    _, spans = agent_turn()
    request = trace_request(spans)
    first = [e.id for e in map_traces(request, CorrelationMemory()).events]
    again = [e.id for e in map_traces(request, CorrelationMemory()).events]
    assert first == again
    assert len(set(first)) == len(first)


def test_spans_that_would_make_invalid_events_are_rejected() -> None:
    trace, root = new_trace_id(), new_span_id()
    huge = span(
        "execute_tool Read",
        trace,
        new_span_id(),
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.call.result": "x" * 300_000,
        },
        parent=root,
    )
    long_session = span(
        "chat m",
        new_trace_id(),
        new_span_id(),
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.conversation.id": "c" * 300,
        },
        parent=root,
    )
    fine = span(
        "execute_tool Ls",
        trace,
        new_span_id(),
        {"gen_ai.operation.name": "execute_tool"},
        parent=root,
    )
    mapped = map_traces(trace_request([huge, long_session, fine]), CorrelationMemory())
    assert mapped.rejected == 2
    assert "over the 262144 byte limit" in mapped.error_message
    assert "correlation.session_id is longer than 256 characters" in mapped.error_message
    assert [e.payload["name"] for e in by_type(mapped.events, "span.end")] == ["Ls"]


def test_event_ids_are_time_led_and_derived_from_the_item_identity_and_event_type() -> None:
    identity = "span:4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7"
    ts = "2026-03-13T12:00:00.250000Z"
    made = uuid.UUID(event_id(identity, EventType.SPAN_END, ts))
    hashed = hashlib.sha1(OTLP_NAMESPACE.bytes + f"{identity}|span.end".encode()).digest()
    assert made.version == 7
    assert made.bytes[:6] == (1773403200250).to_bytes(6, "big")  # the event's millisecond
    assert made.bytes[7:8] == hashed[1:2] and made.bytes[9:] == hashed[3:10]  # the hash
    assert str(made) == event_id(identity, EventType.SPAN_END, ts)  # the same every time
    assert event_id(identity, EventType.ERROR, ts) != str(made)
    later = uuid.UUID(event_id(identity, EventType.SPAN_END, "2026-03-13T12:00:01.000000Z"))
    assert later > made
    assert derived_id("log:x", "span") == uuid.uuid5(OTLP_NAMESPACE, "log:x|span").hex


def test_a_span_whose_parent_is_remote_opens_the_run() -> None:
    trace, remote_parent, local = new_trace_id(), new_span_id(), new_span_id()
    served = span(
        "invoke_agent",
        trace,
        local,
        {"gen_ai.operation.name": "invoke_agent"},
        parent=remote_parent,
    )
    served.flags = 0x300  # the parent context is known, and it is remote
    nested = span(
        "invoke_agent",
        trace,
        new_span_id(),
        {"gen_ai.operation.name": "invoke_agent"},
        parent=local,
    )
    nested.flags = 0x100  # a local parent
    events = map_traces(trace_request([served, nested]), CorrelationMemory()).events
    assert [e.type for e in events] == ["run.start", "run.end", "span.end"]
    assert one(events, "span.end").payload["kind"] == "agent"


def test_a_conversation_id_on_a_span_event_names_the_session() -> None:
    loop = span("session_loop", new_trace_id(), new_span_id(), {"gen_ai.operation.name": "chat"})
    loop.events.add(name="conversation", attributes=key_values({"conversation.id": "codex-conv"}))
    events = map_traces(trace_request([loop], "codex_tui"), CorrelationMemory()).events
    assert {e.correlation.session_id for e in events} == {"codex-conv"}
    assert {e.event.source.framework for e in events} == {"codex"}


def test_codex_internal_spans_are_dropped() -> None:
    """Codex exports its internals (`fs.get_metadata` …); only GenAI spans are kept."""
    trace = new_trace_id()
    root_id = new_span_id()
    root = span("session_loop", trace, root_id)
    noise = span("fs.get_metadata", trace, new_span_id(), parent=root_id)
    call = span(
        "responses", trace, new_span_id(), {"gen_ai.operation.name": "chat"}, parent=root_id
    )
    events = map_traces(trace_request([root, noise, call], "codex_exec"), CorrelationMemory())
    assert [e.payload.get("name") for e in events.events if e.type == "span.end"] == ["responses"]
    assert not [e for e in events.events if e.type.startswith("run.")]
