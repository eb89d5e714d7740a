"""One usage vocabulary: every tool's token-count keys, and OpenInference spans from the real
OpenTelemetry SDK, end as agentmon's counters."""

from __future__ import annotations

import uuid
from typing import Any

from integration_helpers import QueryClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentmon.client.usage import known_usage, normalize_usage


def test_each_tools_keys_map_to_the_same_counters() -> None:
    claude_code = {
        "input_tokens": 4,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 18000,
        "output_tokens": 85,
    }
    codex = {"input_tokens": 9120, "cached_input_tokens": 6400, "output_tokens": 310,
             "reasoning_output_tokens": 128, "total_tokens": 9430}  # fmt: skip
    gemini_cli = {"input": 5200, "output": 40, "cached": 3100, "thoughts": 120, "total": 5360}
    openclaw = {"input": 12, "output": 40, "cacheRead": 9000, "cacheWrite": 800,
                "totalTokens": 9852}  # fmt: skip
    usage_metadata = {"promptTokenCount": 300, "candidatesTokenCount": 20,
                      "cachedContentTokenCount": 100, "totalTokenCount": 320}  # fmt: skip
    assert normalize_usage(claude_code) == {
        "input_tokens": 4, "output_tokens": 85, "cache_read_tokens": 18000,
        "cache_write_tokens": 1200, "total_tokens": 89,
    }  # fmt: skip
    assert known_usage(codex)["cache_read_tokens"] == 6400
    assert known_usage(codex)["reasoning_tokens"] == 128
    assert known_usage(gemini_cli) == {
        "input_tokens": 5200, "output_tokens": 40, "cache_read_tokens": 3100,
        "total_tokens": 5360, "reasoning_tokens": 120,
    }  # fmt: skip
    assert normalize_usage(openclaw)["cache_write_tokens"] == 800
    assert normalize_usage(openclaw)["total_tokens"] == 9852
    assert normalize_usage(usage_metadata)["cache_read_tokens"] == 100
    assert normalize_usage({"input_tokens": "120", "output_tokens": True}) == {
        "input_tokens": 120, "output_tokens": 0, "cache_read_tokens": 0,
        "cache_write_tokens": 0, "total_tokens": 120,
    }  # fmt: skip


def test_an_openinference_llm_span_from_the_sdk_has_model_and_usage(server: Any) -> None:
    session = f"oi-{uuid.uuid4()}"
    provider = TracerProvider(resource=Resource.create({"service.name": "my-rag-app"}))
    exporter = OTLPSpanExporter(endpoint=f"{server.otlp_url}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("openinference.instrumentation.openai")
    with tracer.start_as_current_span(
        "ChatCompletion",
        attributes={
            "openinference.span.kind": "LLM",
            "session.id": session,
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 1200,
            "llm.token_count.completion": 80,
            "llm.token_count.prompt_details.cache_read": 1024,
            "llm.token_count.total": 1280,
        },
    ) as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()

    query = QueryClient(server.query_url)
    detail = query.wait_for_session(session, lambda d: d["session"]["tokens"]["total"] > 0)
    assert detail["session"]["tokens"] == {
        "input": 1200, "output": 80, "cache_read": 1024, "cache_write": 0, "total": 1280,
    }  # fmt: skip
    spans = query.run(trace_id)["spans"]
    assert [(s["kind"], s["name"]) for s in spans] == [("llm", "gpt-4o-mini")]
