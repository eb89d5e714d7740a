"""`agentmon export events|sessions|runs|spans`: everything the filters select, read from the
store directly (DATABASE_URL, else the SQLite file in the data directory), as JSON lines,
CSV or Parquet (the `export` extra: pyarrow), with a progress line on stderr."""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import IO, TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

import msgspec

from agentmon.config import Settings
from agentmon.events import ts_to_ms
from agentmon.progress import ProgressBar
from agentmon.store.queries import (
    SESSION_STATUSES,
    EventFilters,
    Page,
    RecordFilters,
    SessionFilters,
    event_position,
    every_row,
    session_position,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentmon.store import Store

# The query layer (pydantic, FastAPI) is imported where it is used, not here: every
# `agentmon` command builds this parser, and that import costs about a second.

KINDS = ("events", "sessions", "runs", "spans")
FORMATS = ("jsonl", "csv", "parquet")
PAGE = 500
PAGE_BYTES = 8 * 1024 * 1024
EVENT_COLUMNS = ["ts", "event_id", "type", "framework", "session_id", "run_id", "envelope"]
# which filters each kind takes (argparse dest names)
FILTERS: dict[str, set[str]] = {
    "events": {"event_type", "framework", "session_id", "run_id", "since", "after", "before"},
    "sessions": {"framework", "host", "status", "from_", "to"},
    "runs": {"framework", "session_id", "from_", "to"},
    "spans": {"framework", "session_id", "from_", "to"},
}


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Table:
    """A kind's flat columns, their Python types (for Parquet) and its records."""

    columns: list[str]
    types: dict[str, type]
    records: AsyncIterator[dict[str, Any]]
    count: Callable[[], Awaitable[int]]
    raw_lines: bool = False  # events: each record's `envelope` is written as the JSON line


def add_export_command(commands: Any) -> None:
    parser = commands.add_parser(
        "export",
        help="write events, sessions, runs or spans to JSON lines, CSV or Parquet",
        description="Reads the store directly (DATABASE_URL, else AGENTMON_DATA_DIR's SQLite "
        "file) and writes every record the filters select, newest first for events and "
        "sessions, by id for runs and spans. Filters are the query API's.",
    )
    parser.add_argument("what", choices=KINDS, help="what to export")
    parser.add_argument("--format", choices=FORMATS, default="jsonl", help="output format")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    parser.add_argument(
        "--data-dir", type=Path, help="the SQLite data directory (embedded mode's store)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    filters = parser.add_argument_group("filters (as in the query API)")
    filters.add_argument("--framework", help="only this framework")
    filters.add_argument("--session-id", help="only this session")
    filters.add_argument("--run-id", help="events: only this run")
    filters.add_argument("--event-type", help="events: only this type")
    filters.add_argument("--host", help="sessions: only this host")
    filters.add_argument("--status", choices=SESSION_STATUSES, help="sessions: only this status")
    filters.add_argument("--since", help="events: ts at or after (RFC 3339)")
    filters.add_argument("--after", help="events: ts after")
    filters.add_argument("--before", help="events: ts before")
    filters.add_argument("--from", dest="from_", help="sessions, runs, spans: started at/after")
    filters.add_argument("--to", help="sessions, runs, spans: started before")
    parser.set_defaults(run=run_export)


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.query.params import BadParameter
    from agentmon.store import open_store

    try:
        _check_arguments(args)
        store = open_store(settings)
        await store.open()
        try:
            table = _table(store, args)
            with _output(args.out) as out:
                progress = ProgressBar(
                    args.what, await table.count(), unit="exported", quiet=args.quiet
                )
                await _write(table, args.format, out, progress)
        finally:
            await store.close()
    except (ExportError, BadParameter) as exc:
        print(f"agentmon export: {exc}", file=sys.stderr)
        return 2
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    given = {name for names in FILTERS.values() for name in names if getattr(args, name)}
    wrong = sorted(given - FILTERS[args.what])
    if wrong:
        flags = ", ".join("--" + name.rstrip("_").replace("_", "-") for name in wrong)
        raise ExportError(f"{flags} does not filter {args.what}")
    if args.format == "parquet":
        if args.out is None:
            raise ExportError("--format parquet needs --out FILE")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError("Parquet needs pyarrow: pip install 'agentmon[export]'") from None


def _table(store: Store, args: argparse.Namespace) -> Table:
    from agentmon.query.models import Run, Session, Span
    from agentmon.query.params import timestamp
    from agentmon.query.records import columns

    if args.what == "events":
        event_filters = EventFilters(
            event_type=args.event_type,
            framework=args.framework,
            session_id=args.session_id,
            run_id=args.run_id,
            since=timestamp("since", args.since),
            after=timestamp("after", args.after),
            before=timestamp("before", args.before),
        )
        types: dict[str, type] = dict.fromkeys(EVENT_COLUMNS, str)
        records = _event_records(store, event_filters)
        count = functools.partial(store.count_events, event_filters)
        return Table(EVENT_COLUMNS, types, records, count, raw_lines=True)
    models: dict[str, type[BaseModel]] = {"sessions": Session, "runs": Run, "spans": Span}
    model = models[args.what]
    start, end = timestamp("from", args.from_), timestamp("to", args.to)
    start_ms, end_ms = (ts_to_ms(ts) if ts else None for ts in (start, end))
    if args.what == "sessions":
        filters = SessionFilters(start_ms, end_ms, args.framework, args.host, args.status)
        records = _session_records(store, filters)
        count = functools.partial(store.count_sessions, filters)
    else:
        record_filters = RecordFilters(start_ms, end_ms, args.framework, args.session_id)
        records = _record_pages(store, args.what, record_filters)
        count_all = store.count_runs if args.what == "runs" else store.count_spans
        count = functools.partial(count_all, record_filters)
    return Table(columns(model), column_types(model), records, count)


async def _event_records(store: Store, filters: EventFilters) -> AsyncIterator[dict[str, Any]]:
    def read(position: tuple[str, str] | None) -> Awaitable[Page]:
        return store.list_events(filters, position=position, limit=PAGE, max_bytes=PAGE_BYTES)

    async for row in every_row(read, event_position):
        envelope = msgspec.json.decode(row["payload"])
        correlation = envelope.get("correlation") or {}
        yield {
            "ts": row["ts"],
            "event_id": row["event_id"],
            "type": envelope["event"]["type"],
            "framework": envelope["event"]["source"].get("framework"),
            "session_id": correlation.get("session_id"),
            "run_id": correlation.get("run_id"),
            "envelope": row["payload"],
        }


async def _session_records(store: Store, filters: SessionFilters) -> AsyncIterator[dict[str, Any]]:
    from agentmon.query import views

    def read(position: tuple[int, str] | None) -> Awaitable[Page]:
        return store.list_sessions(filters, position=position, limit=PAGE)

    async for row in every_row(read, session_position):
        yield views.session_view(row).model_dump(mode="json")


async def _record_pages(
    store: Store, what: str, filters: RecordFilters
) -> AsyncIterator[dict[str, Any]]:
    from agentmon.query import views

    list_page = store.list_runs if what == "runs" else store.list_spans
    view: Callable[[dict[str, Any]], BaseModel] = (
        views.run_view if what == "runs" else views.span_view
    )
    key = "run_id" if what == "runs" else "span_id"

    def read(position: str | None) -> Awaitable[Page]:
        return list_page(filters, position=position, limit=PAGE)

    async for row in every_row(read, lambda row: str(row[key])):
        yield view(row).model_dump(mode="json")


def column_types(model: type[BaseModel]) -> dict[str, type]:
    """Each flat column's Python type: int, float, bool, or str (text and JSON text)."""
    from pydantic import BaseModel

    found: dict[str, type] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.update({f"{key}_{inner}": int for inner in annotation.model_fields})
        else:
            found[key] = _scalar(annotation)
    return found


def _scalar(annotation: Any) -> type:
    if get_origin(annotation) in (Union, UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else Any
    if get_origin(annotation) is Literal:
        return str
    return annotation if annotation in (int, float, bool, str) else str


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    """The --out file, or standard output."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as file:
        yield file


async def _write(table: Table, format: str, out: IO[bytes], progress: ProgressBar) -> None:
    writer = {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet}[format]
    batch: list[dict[str, Any]] = []
    sink = writer(table, out)
    next(sink)
    async for record in table.records:
        batch.append(record)
        if len(batch) >= PAGE:
            sink.send(batch)
            progress.add(len(batch))
            batch = []
    if batch:
        sink.send(batch)
        progress.add(len(batch))
    sink.close()
    progress.done()


Sink = Generator[None, list[dict[str, Any]], None]  # sent batches of records


def _write_jsonl(table: Table, out: IO[bytes]) -> Sink:
    while True:
        batch = yield
        if table.raw_lines:
            out.write(b"".join(r["envelope"].encode() + b"\n" for r in batch))
        else:
            out.write(b"".join(msgspec.json.encode(r) + b"\n" for r in batch))


def _write_csv(table: Table, out: IO[bytes]) -> Sink:
    from agentmon.query.records import flat

    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.DictWriter(text, table.columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    try:
        while True:
            batch = yield
            writer.writerows(flat(r) for r in batch)
    finally:
        text.detach()


def _write_parquet(table: Table, out: IO[bytes]) -> Sink:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agentmon.query.records import flat

    arrow = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}
    schema = pa.schema([(name, arrow[table.types[name]]) for name in table.columns])
    with pq.ParquetWriter(out, schema) as parquet:
        while True:
            try:
                batch = yield
            except GeneratorExit:
                return
            rows = [_typed(flat(r), table.types) for r in batch]
            parquet.write_table(pa.Table.from_pylist(rows, schema=schema))


def _typed(row: dict[str, Any], types: dict[str, type]) -> dict[str, Any]:
    """Text columns hold text: a number or flag where the model allows anything becomes JSON."""
    for name, kind in types.items():
        value = row.get(name)
        if kind is str and value is not None and not isinstance(value, str):
            row[name] = msgspec.json.encode(value).decode()
    return row
