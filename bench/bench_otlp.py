"""OTLP ingest throughput: spans per second stored and queryable, batches of 512 spans.

Starts its own embedded `agentmon serve` (temporary data dir, free ports), sends protobuf
`ExportTraceServiceRequest`s of 512 GenAI spans each (traces of one invoke_agent root, three
chat spans with token usage and four execute_tool spans) from a few concurrent senders, and
stops the clock when every request has been answered 200 (agentmon answers once the events
are committed) and the last trace's run is visible, with all its spans, in the query API.
Prints every round and the median, the server's CPU time per span (steadier than spans/s
when other work shares the machine), and the ratio to the rate at which the same spans' events
insert raw into a scratch SQLite file with the store's schema (`bench/raw_insert.py`).

With `--phoenix PATH` (the `phoenix` executable of a separate venv where arize-phoenix is
installed) the same batches go to an Arize Phoenix server too, timed until Phoenix reports
the spans through its REST API, and the ratio is printed.

    .venv/bin/python bench/bench_otlp.py [--rounds 5] [--batches 40] [--senders 8]
        [--phoenix /tmp/phoenix-venv/bin/phoenix --phoenix-batches 4]
    .venv/bin/python bench/bench_otlp.py --stages   # CPU µs per span, per stage

`--stages` runs the receiver's stages in this process on the same batches, without HTTP, and
prints the CPU time each takes per span (CPU time, not wall time: other load on the machine
barely moves it): the protobuf parse, the mapping (decode, GenAI mapping, envelope building
and validation), of which the envelope check alone, the redaction, and the embedded store's
write of the events (not the receiver's, for scale).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import httpx
import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu_budget, store_floor
from bench.raw_insert import SQLiteRaw

if TYPE_CHECKING:
    from agentmon.events import Envelope
    from agentmon.otlp.memory import CorrelationMemory
    from agentmon.redaction import Redactor

SPANS_PER_BATCH = 512
SPANS_PER_TRACE = 8
MODEL = "claude-sonnet-4-6"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def attribute(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def genai_trace(now_ns: int) -> list[Span]:
    """One agent turn: invoke_agent root, 3 chat spans with usage, 4 execute_tool spans."""
    trace_id, root_id = os.urandom(16), os.urandom(8)
    conversation = attribute("gen_ai.conversation.id", os.urandom(8).hex())

    def child(name: str, offset_ms: int, attrs: list[KeyValue]) -> Span:
        start = now_ns + offset_ms * 1_000_000
        return Span(
            trace_id=trace_id,
            span_id=os.urandom(8),
            parent_span_id=root_id,
            name=name,
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 80_000_000,
            attributes=attrs,
        )

    chats = [
        child(
            f"chat {MODEL}",
            200 * i,
            [
                attribute("gen_ai.operation.name", "chat"),
                attribute("gen_ai.provider.name", "anthropic"),
                attribute("gen_ai.request.model", MODEL),
                conversation,
                attribute("gen_ai.usage.input_tokens", 1200 + i),
                attribute("gen_ai.usage.output_tokens", 80 + i),
            ],
        )
        for i in range(3)
    ]
    tools = [
        child(
            f"execute_tool Bash{i}",
            100 + 200 * i,
            [
                attribute("gen_ai.operation.name", "execute_tool"),
                attribute("gen_ai.tool.name", "Bash"),
                attribute("gen_ai.tool.call.id", f"call_{i}"),
            ],
        )
        for i in range(4)
    ]
    root = Span(
        trace_id=trace_id,
        span_id=root_id,
        name="invoke_agent coder",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=now_ns,
        end_time_unix_nano=now_ns + 1_000_000_000,
        attributes=[
            attribute("gen_ai.operation.name", "invoke_agent"),
            attribute("gen_ai.agent.name", "coder"),
            conversation,
        ],
    )
    return [*chats, *tools, root]


@dataclass(frozen=True)
class Batch:
    body: bytes
    last_trace_id: str


def build_batch(now_ns: int) -> Batch:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [attribute("service.name", "bench-agent"), attribute("host.name", "bench")]
    )
    spans = resource_spans.scope_spans.add().spans
    for _ in range(SPANS_PER_BATCH // SPANS_PER_TRACE):
        spans.extend(genai_trace(now_ns))
    return Batch(request.SerializeToString(), spans[-1].trace_id.hex())


MAX_RETRIES = 20
"""503s one export may get before the run fails (an overloaded server answers 503 with
Retry-After; OTLP exporters wait and send again, and so does this one)."""


async def send_all(
    client: httpx.AsyncClient, url: str, batches: list[Batch], concurrency: int
) -> int:
    """Send every batch; the number of times a 503 made a sender wait and send again."""
    queue = list(reversed(batches))
    retried = 0

    async def sender() -> None:
        nonlocal retried
        while queue:
            batch = queue.pop()
            for _ in range(MAX_RETRIES + 1):
                response = await client.post(
                    url, content=batch.body, headers={"Content-Type": "application/x-protobuf"}
                )
                if response.status_code != 503:
                    break
                retried += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return retried


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = 300.0, interval: float = 0.005
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the spans never became queryable")
        await asyncio.sleep(interval)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Target(Protocol):
    name: str

    async def ready(self, client: httpx.AsyncClient) -> None: ...

    async def send_round(
        self, client: httpx.AsyncClient, batches: list[Batch], senders: int
    ) -> int:
        """Send the batches and wait until they are stored; the number of 503 retries."""
        ...

    def stop(self) -> None: ...


class Agentmon:
    name = "agentmon"

    def __init__(self) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="bench-otlp-")
        ports = {flag: free_port() for flag in ("--addr", "--query-addr", "--otlp-addr")}
        args = [arg for flag, port in ports.items() for arg in (flag, f"127.0.0.1:{port}")]
        env = {**os.environ, "AGENTMON_LOG_LEVEL": "warning"}
        env.pop("AGENTMON_API_KEY", None)
        executable = Path(sys.executable).with_name("agentmon")
        self.process = subprocess.Popen(
            [str(executable), "serve", "--no-ui", "--data-dir", self.data_dir, *args], env=env
        )
        self.query_url = f"http://127.0.0.1:{ports['--query-addr']}"
        self.otlp_url = f"http://127.0.0.1:{ports['--otlp-addr']}/v1/traces"

    async def ready(self, client: httpx.AsyncClient) -> None:
        async def healthy() -> bool:
            try:
                return (await client.get(f"{self.query_url}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(healthy, timeout=60)

    async def send_round(
        self, client: httpx.AsyncClient, batches: list[Batch], senders: int
    ) -> int:
        retried = await send_all(client, self.otlp_url, batches, senders)
        last_run = f"{self.query_url}/v1/runs/{batches[-1].last_trace_id}"

        async def run_is_complete() -> bool:
            response = await client.get(last_run)
            return response.status_code == 200 and len(response.json()["spans"]) == 7

        await wait_until(run_is_complete)
        return retried

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.data_dir, ignore_errors=True)


PHOENIX_POLL_SECONDS = 0.25
"""Phoenix stores spans in the background: poll its count gently so polling does not slow it."""


class Phoenix:
    name = "phoenix"

    def __init__(self, executable: str) -> None:
        self.work_dir = tempfile.mkdtemp(prefix="bench-phoenix-")
        port = free_port()
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": self.work_dir,
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_HOST": "127.0.0.1",
        }
        self.process = subprocess.Popen(
            [executable, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base_url = f"http://127.0.0.1:{port}"
        self.sent = 0

    async def ready(self, client: httpx.AsyncClient) -> None:
        async def healthy() -> bool:
            try:
                return (await client.get(f"{self.base_url}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(healthy, timeout=180)

    async def stored_spans(self, client: httpx.AsyncClient) -> int:
        query = "{ projects { edges { node { name recordCount } } } }"
        response = await client.post(f"{self.base_url}/graphql", json={"query": query})
        edges = response.json()["data"]["projects"]["edges"]
        return sum(edge["node"]["recordCount"] for edge in edges)

    async def send_round(
        self, client: httpx.AsyncClient, batches: list[Batch], senders: int
    ) -> int:
        retried = await send_all(client, f"{self.base_url}/v1/traces", batches, senders)
        self.sent += len(batches) * SPANS_PER_BATCH

        async def all_stored() -> bool:
            return await self.stored_spans(client) >= self.sent

        await wait_until(all_stored, interval=PHOENIX_POLL_SECONDS)
        return retried

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.work_dir, ignore_errors=True)


def raw_spans_rate(raw: SQLiteRaw, batches: list[Batch]) -> float:
    """Spans/s inserting the events these batches map to raw into SQLite (the limit)."""
    from agentmon.otlp.decode import Encoding, parse
    from agentmon.otlp.memory import CorrelationMemory
    from agentmon.otlp.traces import map_traces

    memory = CorrelationMemory()
    events = [
        event
        for batch in batches
        for event in map_traces(
            parse(batch.body, Encoding.PROTOBUF, ExportTraceServiceRequest()), memory
        ).events
    ]
    rows_per_s = raw.rate(events)
    return len(batches) * SPANS_PER_BATCH / (len(events) / rows_per_s)


async def measure(
    target: Target, batches_per_round: int, args: argparse.Namespace, raw: SQLiteRaw | None
) -> list[float]:
    rates: list[float] = []
    ratios: list[float] = []
    cpu: list[float] = []
    budgets: list[float] = []
    async with httpx.AsyncClient(timeout=120) as client:
        await target.ready(client)
        warmup = [build_batch(time.time_ns()) for _ in range(2)]
        await target.send_round(client, warmup, args.senders)
        for number in range(1, args.rounds + 1):
            batches = [build_batch(time.time_ns()) for _ in range(batches_per_round)]
            spans = len(batches) * SPANS_PER_BATCH
            used, client_used = server_cpu(target), time.process_time()
            started = time.perf_counter()
            retried = await target.send_round(client, batches, args.senders)
            elapsed = time.perf_counter() - started
            rate = spans / elapsed
            rates.append(rate)
            cpu.append((server_cpu(target) - used) / spans)
            # the sender's CPU, and its polls for the last run (a small overcount)
            shares = {"server": cpu[-1], "client": (time.process_time() - client_used) / spans}
            budgets.append(sum(shares.values()))
            waited = f"; {retried} exports retried after a 503" if retried else ""
            print(
                f"{target.name} round {number}: {spans} spans in {elapsed:.2f} s = "
                f"{rate:,.0f} spans/s{waited}\n  CPU: {cpu_budget.describe(shares, 'span')}",
                flush=True,
            )
            if raw is not None:
                limit = raw_spans_rate(raw, batches)
                ratios.append(rate / limit)
                print(
                    f"  raw insert of the same events: {limit:,.0f} spans/s; ratio {ratios[-1]:.2f}"
                )
    if ratios:
        print(f"{target.name} median ratio to the raw insert rate: {statistics.median(ratios):.2f}")
    print(f"{target.name} median server CPU: {statistics.median(cpu) * 1e6:.0f} µs per span")
    budget = statistics.median(budgets)
    print(
        f"{target.name} median CPU per span, server and client: {budget * 1e6:.0f} µs: "
        + cpu_budget.ceiling(budget, "span")
    )
    return rates


def server_cpu(target: Target) -> float:
    """CPU seconds the target's server (and its children) used so far: steadier than spans/s
    on a machine other work shares."""
    process = getattr(target, "process", None)
    if process is None:
        return 0.0
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(process.pid)
        for each in (root, *root.children(recursive=True)):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def run_target(
    target: Target, batches_per_round: int, args: argparse.Namespace, raw: SQLiteRaw | None = None
) -> float:
    try:
        rates = asyncio.run(measure(target, batches_per_round, args, raw))
    finally:
        target.stop()
    median = statistics.median(rates)
    print(f"{target.name} median: {median:,.0f} spans/s over {len(rates)} rounds", flush=True)
    return median


def mapping_only_rate(batches: int = 20) -> float:
    """Decode + map alone, in this process (no HTTP, no store): the receiver's own ceiling."""
    from agentmon.otlp.decode import Encoding, parse
    from agentmon.otlp.memory import CorrelationMemory
    from agentmon.otlp.traces import map_traces

    bodies = [build_batch(time.time_ns()).body for _ in range(batches)]
    memory = CorrelationMemory()
    started = time.perf_counter()
    for body in bodies:
        map_traces(parse(body, Encoding.PROTOBUF, ExportTraceServiceRequest()), memory)
    return batches * SPANS_PER_BATCH / (time.perf_counter() - started)


async def bench_stages(args: argparse.Namespace) -> None:
    """CPU µs per span of each stage the embedded server runs for an OTLP export, median of
    rounds, with the servers' garbage collection settings."""
    from agentmon.otlp.memory import CorrelationMemory
    from agentmon.redaction import build_redactor
    from agentmon.runtime import settle_garbage_collection
    from agentmon.store.sqlite import SQLiteStore

    settle_garbage_collection()
    redactor = build_redactor()
    memory = CorrelationMemory()
    scratch = Path(tempfile.mkdtemp(prefix="bench-otlp-stages-"))
    store, twin = SQLiteStore(scratch / "stages.db"), SQLiteStore(scratch / "twin.db")
    await store.open()
    await twin.open()
    timings: dict[str, list[float]] = {}
    try:
        for _ in range(max(args.rounds, 5)):
            bodies = [build_batch(time.time_ns()).body for _ in range(args.batches // 4)]
            count = len(bodies) * SPANS_PER_BATCH
            requests = cpu_timed(timings, "protobuf parse", count, partial(parse_all, bodies))
            events = cpu_timed(
                timings, "mapping (all of it)", count, partial(map_all, requests, memory)
            )
            cpu_timed(timings, "  envelope check alone", count, partial(check_all, events))
            cpu_timed(timings, "redaction", count, partial(redact_all, redactor, events))
            started = time.process_time()
            for chunk in store_floor.groups_of(events, 10_000):
                await store.write(chunk)
            timings.setdefault("store write (all of it)", []).append(
                (time.process_time() - started) / count
            )
            for chunk in store_floor.groups_of(events, 10_000):
                await twin.write(chunk)
        bodies = [build_batch(time.time_ns()).body for _ in range(args.batches // 4)]
        count = len(bodies) * SPANS_PER_BATCH
        events = map_all(parse_all(bodies), memory)
        groups = list(store_floor.groups_of(events, 10_000))
        floor = await store_floor.measure(store, twin, groups)
    finally:
        await store.close()
        await twin.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(events) / count:.2f} events per span")
    for stage, values in timings.items():
        print(f"{stage:26s} {statistics.median(values) * 1e6:6.2f} µs per span (CPU)")
    print(f"{'floor: statements alone':26s} {floor.describe(count, 'span')}")


def cpu_timed(timings: dict[str, list[float]], stage: str, count: int, work: Callable[[], T]) -> T:
    """`work()`, its CPU time (this thread's) per span added to `stage`'s."""
    started = time.thread_time()
    result = work()
    timings.setdefault(stage, []).append((time.thread_time() - started) / count)
    return result


def parse_all(bodies: list[bytes]) -> list[ExportTraceServiceRequest]:
    from agentmon.otlp.decode import Encoding, parse

    return [parse(body, Encoding.PROTOBUF, ExportTraceServiceRequest()) for body in bodies]


def map_all(requests: list[ExportTraceServiceRequest], memory: CorrelationMemory) -> list[Envelope]:
    from agentmon.otlp.traces import map_traces

    return [event for request in requests for event in map_traces(request, memory).events]


def check_all(events: list[Envelope]) -> None:
    from agentmon.events import check_event

    for event in events:
        check_event(event)


def redact_all(redactor: Redactor, events: list[Envelope]) -> None:
    for event in events:
        redactor.envelope(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40, help="batches of 512 spans per round")
    parser.add_argument("--senders", type=int, default=8, help="concurrent exporters")
    parser.add_argument("--phoenix", help="path of the `phoenix` executable to compare with")
    parser.add_argument(
        "--phoenix-batches", type=int, default=4, help="batches per round sent to Phoenix"
    )
    parser.add_argument(
        "--stages", action="store_true", help="CPU µs per span of each stage, in this process"
    )
    args = parser.parse_args()
    if args.stages:
        asyncio.run(bench_stages(args))
        return
    print(f"receiver decode + mapping alone: {mapping_only_rate():,.0f} spans/s", flush=True)
    raw_dir = Path(tempfile.mkdtemp(prefix="bench-otlp-raw-"))
    raw = SQLiteRaw(raw_dir / "raw.db")
    try:
        agentmon = run_target(Agentmon(), args.batches, args, raw)
    finally:
        raw.close()
        shutil.rmtree(raw_dir, ignore_errors=True)
    if args.phoenix:
        phoenix = run_target(Phoenix(args.phoenix), args.phoenix_batches, args)
        print(f"agentmon / phoenix = {agentmon / phoenix:.1f}x")


if __name__ == "__main__":
    main()
