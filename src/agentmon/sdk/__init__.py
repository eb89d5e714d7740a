"""agentmon's Python SDK: emit sessions, runs, spans, errors and usage from your own agent.

    from agentmon.sdk import Emitter

    with Emitter(framework="my-agent") as emitter:
        with emitter.session(title="nightly triage") as session:
            with session.run(input="why is CI red?") as run:
                with run.span("tool", "grep") as span:
                    span.set_output("3 failures")

Configuration: ``server_url`` (default ``$AGENTMON_INGEST_URL`` or http://127.0.0.1:8080),
``framework``, ``client_id``, ``host``, ``api_key`` (default ``$AGENTMON_API_KEY``, sent as
``Authorization: Bearer``), batching, retry and spool settings (see `EmitterConfig`).
Event constructors for every type live in `agentmon.sdk.constructors`.
"""

from agentmon.sdk import constructors
from agentmon.sdk.constructors import (
    error,
    metric_snapshot,
    openclaw_snapshot,
    run_end,
    run_start,
    session_end,
    session_start,
    span_end,
    span_start,
)
from agentmon.sdk.emitter import Emitter, EmitterConfig
from agentmon.sdk.scopes import RunScope, SessionScope, SpanScope

__all__ = [
    "Emitter",
    "EmitterConfig",
    "RunScope",
    "SessionScope",
    "SpanScope",
    "constructors",
    "error",
    "metric_snapshot",
    "openclaw_snapshot",
    "run_end",
    "run_start",
    "session_end",
    "session_start",
    "span_end",
    "span_start",
]
