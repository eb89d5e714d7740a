"""The response models and views: the OpenAPI document describes every answer field by
field, documents 400/404 as answered (never 422), and the views keep the API's rules."""

from __future__ import annotations

from typing import Any

import pytest

from agentmon.live import LiveHub
from agentmon.query import views
from agentmon.query.app import create_query_app
from agentmon.query.models import Session
from agentmon.store.queries import SummaryRows
from agentmon.store.sqlite import SQLiteStore

SESSION_KEYS = {
    "session_id", "framework", "host", "client_id", "status", "started_at", "ended_at",
    "last_event_at", "duration_ms", "title", "model", "cwd", "parent_session_id",
    "end_reason", "waiting_reason", "waiting_message", "run_count", "span_count",
    "tool_count", "error_count", "tokens", "cost_usd", "cost_source",
    "last_run_status", "active_ms",
}  # fmt: skip


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = SQLiteStore(tmp_path_factory.mktemp("openapi") / "unused.db")
    return create_query_app(store, LiveHub()).openapi()


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, operation) of every method of every path."""
    return [(p, op) for p, methods in document["paths"].items() for op in methods.values()]


def test_every_json_answer_is_described_field_by_field(document: dict[str, Any]) -> None:
    for path, operation in operations(document):
        if "200" not in operation["responses"]:  # a 204 answers nothing to describe
            assert "content" not in operation["responses"]["204"], path
            continue
        answer = operation["responses"]["200"]["content"]
        if path == "/v1/sessions/export":
            assert set(answer) == {"text/csv", "application/x-ndjson"}
            continue
        schema = resolve(document, answer["application/json"]["schema"])
        assert schema.get("properties"), f"{path} answers an untyped object"


def test_errors_are_documented_as_answered_never_422(document: dict[str, Any]) -> None:
    for path, operation in operations(document):
        responses = operation["responses"]
        assert "422" not in responses, path
        if operation.get("parameters"):
            assert responses["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }, path
        if "{" in path:
            assert "404" in responses, path
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_events_are_described_by_the_envelope_schema(document: dict[str, Any]) -> None:
    events = document["components"]["schemas"]["EventPage"]["properties"]["events"]
    assert events["items"] == {"$ref": "#/components/schemas/Envelope"}
    envelope = document["components"]["schemas"]["Envelope"]
    assert {"schema", "event", "correlation", "payload"} <= set(envelope["properties"])


def test_the_session_model_keeps_every_key_the_ui_reads(document: dict[str, Any]) -> None:
    assert set(Session.model_fields) == SESSION_KEYS
    assert set(document["components"]["schemas"]["Session"]["properties"]) == SESSION_KEYS
    fields = document["components"]["schemas"]["Session"]["properties"]
    assert "Wall time" in fields["duration_ms"]["description"]
    assert "runs' durations" in fields["active_ms"]["description"]
    timeseries = document["components"]["schemas"]["Timeseries"]["properties"]
    assert "from" in timeseries and "from_" not in timeseries


def snapshot_row(age_s: float, now_ms: int) -> dict[str, Any]:
    issue = {"severity": "warning", "code": "disk_high", "message": "disk 91% used", "pct": 91}
    return {"name": "zap", "ts": now_ms - int(age_s * 1000), "snapshot": {"issues": [issue]}}


def test_a_vm_whose_monitor_went_quiet_is_stale_with_an_issue() -> None:
    now_ms = 1_800_000_000_000
    fresh = views.instance_view(snapshot_row(views.STALE_AFTER_S - 1, now_ms), now_ms)
    assert not fresh.stale and [i["code"] for i in fresh.issues] == ["disk_high"]
    assert fresh.issues[0]["pct"] == 91  # the monitor's own keys are kept
    quiet = views.instance_view(snapshot_row(views.STALE_AFTER_S + 60, now_ms), now_ms)
    assert quiet.stale and quiet.issues[-1]["code"] == "no_recent_snapshot"
    assert quiet.issues[-1]["message"] == "no snapshot from the monitor for 6 min"


def test_summary_adds_frameworks_and_counts_waiting_as_active() -> None:
    def totals(framework: str, events: int, cost: float) -> dict[str, Any]:
        counts = {"sessions": 1, "runs": 2, "tool_calls": 3, "errors": 0, "events": events}
        tokens = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        calls = {"reported_calls": 1, "estimated_calls": 0, "unpriced_calls": 0}
        return {"framework": framework, **counts, **tokens, "cost_usd": cost, **calls}

    rows = SummaryRows(
        day_start=0,
        totals=[totals("codex", 7, 0.1), totals("claude-code", 3, 0.2000004)],
        live=[{"framework": "codex", "status": "active", "n": 2}],
        waiting=[{"framework": "hermes", "n": 1}],
    )
    summary = views.summary_view(rows).model_dump(by_alias=True)
    assert summary["day_start"] == "1970-01-01T00:00:00.000000Z"
    assert (summary["events"], summary["active_sessions"], summary["waiting_sessions"]) == (
        10,
        3,
        1,
    )
    assert summary["tokens"] == {"input": 20, "output": 10, "total": 30}
    assert (summary["cost_usd"], summary["cost_source"]) == (0.3, "reported")
    assert list(summary["by_framework"]) == ["claude-code", "codex", "hermes"]
    assert summary["by_framework"]["hermes"]["active_sessions"] == 1


def test_span_without_a_start_is_reconstructed_from_its_end() -> None:
    row = {
        "span_id": "t", "run_id": "r", "session_id": "s", "parent_span_id": None,
        "trace_id": None, "framework": "codex", "kind": None, "name": "Bash",
        "status": "ok", "started_at": None, "derived_start": 1000, "first_ts": 1800,
        "ended_at": 1800, "duration_ms": 800, "error": None, "input": '{"a": 1}',
        "output": None, "usage": None, "attributes": None,
    }  # fmt: skip
    span = views.span_view(row).model_dump()
    assert span["reconstructed"] and span["kind"] == "other" and span["attributes"] == {}
    assert span["input"] == {"a": 1} and span["started_at"] == "1970-01-01T00:00:01.000000Z"
