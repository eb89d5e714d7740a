"""Prometheus metrics of the service itself (no per-session labels)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from agentmon.store.projection import ModelCall

EVENTS_ACCEPTED = Counter(
    "agentmon_ingest_events_accepted_total", "Events acknowledged to producers", ["source"]
)
EVENTS_REJECTED = Counter(
    "agentmon_ingest_events_rejected_total", "Events refused as invalid", ["source"]
)
INGEST_UNAVAILABLE = Counter(
    "agentmon_ingest_unavailable_total",
    "Ingest requests (and WebSocket frames, OTLP/gRPC exports) refused as unavailable: the "
    "process was full (admission) or the bus could not take them",
)
PUBLISH_SECONDS = Histogram(
    "agentmon_ingest_publish_seconds",
    "Time from a batch being valid to the bus holding it durably",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_EVENTS = Histogram(
    "agentmon_processor_batch_events",
    "Events per store write",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
EVENTS_STORED = Counter("agentmon_processor_events_stored_total", "New events committed")
EVENTS_DUPLICATE = Counter(
    "agentmon_processor_events_duplicate_total", "Redelivered or repeated events skipped"
)
DEAD_LETTERS = Counter("agentmon_processor_dead_letters_total", "Messages set aside as unstorable")
STORE_WRITE_SECONDS = Histogram(
    "agentmon_store_write_seconds",
    "Duration of one batch transaction",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PROCESSOR_LAG_SECONDS = Gauge(
    "agentmon_processor_lag_seconds", "Age of the newest event in the last batch when committed"
)
PROCESSOR_PENDING = Gauge(
    "agentmon_processor_pending_messages", "Messages waiting in the bus for the processors"
)
PROCESSOR_OLDEST_PENDING_SECONDS = Gauge(
    "agentmon_processor_oldest_pending_seconds",
    "Age of the oldest message the processors have not yet acknowledged",
)
LIVE_CLIENTS = Gauge("agentmon_live_clients", "Connected live WebSocket clients")
LIVE_DROPPED = Counter("agentmon_live_dropped_events_total", "Events skipped for slow live clients")
LIVE_REFUSED = Counter("agentmon_live_refused_total", "Live viewers refused over the viewer cap")
SESSIONS = Gauge(
    "agentmon_sessions",
    "Sessions not ended, per state (counted by the query API when scraped)",
    ["state"],
)

TOKENS = Counter(
    "agentmon_tokens_total",
    "Tokens of newly stored model calls (kind: input, output, cache_read, cache_write)",
    ["framework", "model", "kind"],
)
COST_USD = Counter(
    "agentmon_cost_usd_total",
    "USD of newly stored model calls (source: reported by the tool, or estimated)",
    ["framework", "model", "source"],
)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
# Producers name frameworks and models freely: past this many values a label reads "other",
# so a typo storm cannot grow the scrape without bound.
MAX_LABEL_VALUES = 200


class BoundedLabel:
    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        name = (value or "").strip().lower()[:80] or "unknown"
        if name in self.seen:
            return name
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(name)
        return name


_framework_label, _model_label = BoundedLabel(), BoundedLabel()


def count_model_calls(calls: list[ModelCall]) -> None:
    """Tokens and cost of newly stored model calls (each counted once, as the projection priced
    them: no second pricing on the processor's path)."""
    for event, usage, priced in calls:
        framework = _framework_label(event.event.source.framework)
        model = _model_label(str(event.payload.get("model") or ""))
        for kind in TOKEN_KINDS:
            tokens = usage.get(f"{kind}_tokens", 0)
            if tokens:
                TOKENS.labels(framework, model, kind).inc(tokens)
        if priced.cost_usd:
            COST_USD.labels(framework, model, priced.source).inc(priced.cost_usd)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
