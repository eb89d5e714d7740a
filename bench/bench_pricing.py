"""What pricing adds to the write path: projecting batches of model calls with estimated,
reported and not-priced costs, against the same batch with every cost reported (no lookup).

    .venv/bin/python bench/bench_pricing.py [--calls 1000] [--repeat 30]

Prints the median time to project one batch and the median cost per call of the estimate.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from agentmon.events import Envelope, new_event
from agentmon.store.projection import project

MODELS = (
    ("claude-code", "claude-sonnet-4-6"),
    ("codex", "gpt-5.4"),
    ("gemini-cli", "gemini-2.5-pro"),
    ("hermes", "anthropic/claude-sonnet-4.6"),
    ("openclaw", "house-model-7"),  # no price: looked up once, then remembered
)


def batch(calls: int, reported: bool, rng: random.Random) -> list[Envelope]:
    events = []
    for i in range(calls):
        framework, model = MODELS[i % len(MODELS)]
        usage = {
            "input_tokens": rng.randint(100, 30_000),
            "output_tokens": rng.randint(10, 3_000),
            "cache_read_tokens": rng.randint(0, 100_000),
        }
        payload: dict[str, Any] = {"model": model, "usage": usage}
        if reported:
            payload["cost_usd"] = 0.01
        events.append(
            new_event(
                "metric.snapshot", framework=framework, session_id=f"s{i % 50}", payload=payload
            )
        )
    return events


def median_seconds(events: list[Envelope], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        project(events)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    estimated, reported = batch(args.calls, False, rng), batch(args.calls, True, rng)
    project(estimated)  # first use: imports genai-prices, loads its data, fills the lookups
    with_prices = median_seconds(estimated, args.repeat)
    without = median_seconds(reported, args.repeat)
    per_call_us = (with_prices - without) / args.calls * 1e6
    print(f"project {args.calls} model calls, costs estimated: median {with_prices * 1000:.1f} ms")
    print(f"project {args.calls} model calls, costs reported:  median {without * 1000:.1f} ms")
    print(f"the estimate adds a median of {per_call_us:.0f} µs per call")


if __name__ == "__main__":
    main()
