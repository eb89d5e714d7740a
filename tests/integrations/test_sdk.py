"""The Python SDK against the real embedded server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import QueryClient

from agentmon.client.spool import Spool
from agentmon.sdk import Emitter, constructors


@pytest.fixture
def emitter_options(tmp_path: Path, server: Any) -> dict[str, Any]:
    return {
        "server_url": server.ingest_url,
        "framework": "sdk-test",
        "client_id": "worker-1",
        "host": "worker-1",
        "spool_dir": str(tmp_path / "spool"),
        "flush_interval": 0.05,
        "retry_backoff": 0.01,
    }


def test_scopes_time_correlate_and_count_usage_once(
    emitter_options: dict[str, Any], query: QueryClient
) -> None:
    with Emitter(**emitter_options) as emitter, emitter.session(title="nightly triage") as session:
        with session.run(input="why is CI red?", model="gpt-5.4") as run:
            with run.span("tool", "grep", input={"pattern": "FAIL"}) as span:
                span.set_output("3 failures")
                with span.span("llm", "gpt-5.4") as child:
                    child.set_output("summarised")
            run.usage(input_tokens=1200, output_tokens=300, cost_usd=0.01, model="gpt-5.4")
            run.set_output("flaky test")
        sid = session.session_id

    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] == "ended")
    assert detail["session"]["framework"] == "sdk-test"
    assert detail["session"]["host"] == "worker-1"
    assert detail["session"]["tokens"]["total"] == 1500
    assert detail["session"]["cost_usd"] == pytest.approx(0.01)
    (run_summary,) = detail["runs"]
    assert (run_summary["status"], run_summary["input"], run_summary["output"]) == (
        "ok",
        "why is CI red?",
        "flaky test",
    )
    spans = query.run(run_summary["run_id"])["spans"]
    by_name = {span["name"]: span for span in spans}
    assert by_name["gpt-5.4"]["parent_span_id"] == by_name["grep"]["span_id"]
    assert by_name["grep"]["status"] == "ok"


def test_an_exception_ends_every_scope_with_error_reports_once_and_reraises(
    emitter_options: dict[str, Any], query: QueryClient
) -> None:
    emitter = Emitter(**emitter_options)
    with pytest.raises(ValueError, match="boom"), emitter.session() as session:
        sid = session.session_id
        with session.run(input="do it") as run, run.span("tool", "deploy"):
            raise ValueError("boom")
    emitter.close()

    detail = query.wait_for_session(sid, lambda d: d["session"]["ended_at"] is not None)
    assert detail["session"]["status"] == "error"
    assert detail["session"]["error_count"] == 1
    (run_summary,) = detail["runs"]
    assert run_summary["status"] == "error"
    run_detail = query.run(run_summary["run_id"])
    assert [span["status"] for span in run_detail["spans"]] == ["error"]
    assert [error["message"] for error in run_detail["errors"]] == ["ValueError: boom"]
    assert run_detail["errors"][0]["span_id"] == run_detail["spans"][0]["span_id"]


async def test_asyncio_use(emitter_options: dict[str, Any], query: QueryClient) -> None:
    async with Emitter(**emitter_options) as emitter:
        async with emitter.session(title="async") as session:
            async with session.run(input="async prompt") as run, run.span("tool", "fetch") as span:
                span.set_output({"status": 200})
            session.waiting("permission_prompt", "approve the deploy?")
        sid = session.session_id
    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] == "ended")
    assert [run["status"] for run in detail["runs"]] == ["ok"]
    assert detail["session"]["span_count"] == 1


def test_outage_spools_and_a_later_emitter_replays_with_the_same_ids(
    emitter_options: dict[str, Any], query: QueryClient, unused_port: int
) -> None:
    sid = str(uuid.uuid4())
    offline = Emitter(
        **{**emitter_options, "server_url": f"http://127.0.0.1:{unused_port}", "max_retries": 1}
    )
    events = [
        constructors.session_start(offline.source, sid, title="offline"),
        constructors.session_end(offline.source, sid, reason="done"),
    ]
    offline.emit(*events)
    offline.close()
    spool = Spool(emitter_options["spool_dir"])
    assert spool.count() == 1

    online = Emitter(**emitter_options)
    assert online.flush()
    online.close()
    assert spool.count() == 0
    stored = {event["event"]["id"] for event in query.events(session_id=sid)}
    assert stored == {event.id for event in events}


def test_a_full_queue_spills_to_the_spool_and_nothing_is_lost(
    emitter_options: dict[str, Any], query: QueryClient
) -> None:
    sid = str(uuid.uuid4())
    emitter = Emitter(
        **{**emitter_options, "max_queue": 3, "batch_size": 100, "flush_interval": 60}
    )
    events = [constructors.session_start(emitter.source, sid)] + [
        constructors.error(emitter.source, f"problem {n}", session_id=sid) for n in range(4)
    ]
    emitter.emit(*events)
    assert Spool(emitter_options["spool_dir"]).count() == 1
    emitter.close()

    replayer = Emitter(**emitter_options)
    replayer.close()
    stored = {event["event"]["id"] for event in query.events(session_id=sid)}
    assert stored == {event.id for event in events}


def test_a_program_that_forgets_close_still_delivers(
    emitter_options: dict[str, Any], query: QueryClient
) -> None:
    sid = str(uuid.uuid4())
    script = (
        "import sys\n"
        "from agentmon.sdk import Emitter\n"
        f"emitter = Emitter(**{ {**emitter_options, 'flush_interval': 60}!r})\n"
        f"with emitter.session({sid!r}, title='no close'):\n"
        "    pass\n"
        "sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    detail = query.wait_for_session(sid, lambda d: d["session"]["status"] == "ended")
    assert detail["session"]["title"] == "no close"


def test_flush_sends_more_than_one_batch_at_once(
    emitter_options: dict[str, Any], query: QueryClient
) -> None:
    sid = str(uuid.uuid4())
    emitter = Emitter(**{**emitter_options, "batch_size": 2, "flush_interval": 60})
    events = [constructors.error(emitter.source, f"problem {n}", session_id=sid) for n in range(5)]
    emitter.emit(*events)
    assert emitter.flush(timeout=10)
    stored = {event["event"]["id"] for event in query.events(session_id=sid)}
    emitter.close()
    assert stored == {event.id for event in events}
