"""Answers as flat records for downloads: JSON lines, CSV (and Parquet in the export command).

A record is a response model dumped as JSON values; CSV and Parquet spread `tokens` into
`tokens_input`, `tokens_output`, … and hold any other nested value as JSON text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Literal

import msgspec
from pydantic import BaseModel

ExportFormat = Literal["csv", "jsonl"]
_SPREAD = ("tokens",)


def columns(model: type[BaseModel]) -> list[str]:
    """The flat column names of a model's records, in declaration order."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        nested = info.annotation
        if key in _SPREAD and isinstance(nested, type) and issubclass(nested, BaseModel):
            names += [f"{key}_{inner}" for inner in nested.model_fields]
        else:
            names.append(key)
    return names


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record with `tokens` spread into columns and other nested values as JSON text."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in _SPREAD and isinstance(value, dict):
            row.update({f"{key}_{inner}": v for inner, v in value.items()})
        elif isinstance(value, dict | list):
            row[key] = msgspec.json.encode(value).decode()
        else:
            row[key] = value
    return row


def csv_lines(header: list[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, extrasaction="ignore", lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def csv_header(header: list[str]) -> str:
    return ",".join(header) + "\n"


async def encode_records(
    models: AsyncIterable[BaseModel],
    model: type[BaseModel],
    format: ExportFormat,
    batch: int = 200,
) -> AsyncIterator[bytes]:
    """The models as a CSV document (header first) or JSON lines, a batch per chunk."""
    header = columns(model)
    if format == "csv":
        yield csv_header(header).encode()
    pending: list[dict[str, Any]] = []
    async for item in models:
        pending.append(item.model_dump(mode="json", by_alias=True))
        if len(pending) >= batch:
            yield _chunk(header, pending, format)
            pending = []
    if pending:
        yield _chunk(header, pending, format)


def _chunk(header: list[str], records: list[dict[str, Any]], format: ExportFormat) -> bytes:
    if format == "csv":
        return csv_lines(header, (flat(r) for r in records)).encode()
    return b"".join(msgspec.json.encode(r) + b"\n" for r in records)
