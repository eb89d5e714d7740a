"""`agentmon reprice`: estimate stored calls' costs again with today's prices.

Costs are priced once, when a call is stored, so a later price change never rewrites history
by itself. This command does, on request: it reads the stored `metric.snapshot` events (and
`llm` span ends) since a date, prices them again through the same projection that priced them
at write time (a cost the tool reported stays as it was), and sets the cost columns of the
read models they feed. Sessions are recomputed whole (every call of a session touched since
the date); rollups and spans from the date, rounded down to the hour, on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentmon.config import Settings
from agentmon.events import Envelope, EventType, ms_to_ts, normalize_ts, ts_to_ms
from agentmon.store import Store, tables
from agentmon.store.projection import HOUR_MS, project
from agentmon.store.tables import COST_COUNTS, Table

SESSION_CHUNK = 200
_COST_COLUMNS = ("cost_usd", *COST_COUNTS)
_SESSION_TABLES = (tables.SESSIONS, tables.RUNS, tables.MODEL_USAGE)
_ROLLUP_TABLES = (tables.ROLLUP_MINUTE, tables.ROLLUP_HOUR, tables.USAGE_HOUR)


class RepriceError(ValueError):
    """A bad argument; the message says which."""


@dataclass
class Repriced:
    calls: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: Table, count: int) -> None:
        self.rows[table.name] = self.rows.get(table.name, 0) + count


def add_reprice_command(commands: Any) -> None:
    from agentmon.cli import add_setting_flag

    parser = commands.add_parser(
        "reprice",
        help="estimate stored costs again with the current prices",
        description="Prices the stored model calls since --since again (genai-prices and "
        "AGENTMON_PRICES; costs the tools reported are kept) and rewrites the cost columns "
        "of sessions, runs, per-model rows, rollups and llm spans. Run it while the store "
        "takes no new events: a call stored meanwhile may be left out of a session's total.",
    )
    parser.add_argument("--since", help="calls at or after this date or time (default: all)")
    parser.add_argument(
        "--data-dir", type=Path, help="the SQLite data directory (embedded mode's store)"
    )
    add_setting_flag(parser, "--prices", "prices_file")
    parser.set_defaults(run=run_reprice)


async def run_reprice(args: argparse.Namespace, settings: Settings) -> int:
    from agentmon.store import open_store

    try:
        since_ms = _since_ms(args.since)
    except RepriceError as exc:
        print(f"agentmon reprice: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)
    await store.open()
    try:
        done = await reprice(store, since_ms)
    finally:
        await store.close()
    rows = ", ".join(f"{count} {name}" for name, count in sorted(done.rows.items())) or "none"
    print(f"agentmon reprice: {done.calls} model calls priced again; rows updated: {rows}")
    return 0


def _since_ms(text: str | None) -> int:
    if not text:
        return 0
    try:
        return ts_to_ms(normalize_ts(text if "T" in text else f"{text}T00:00:00Z"))
    except ValueError:
        raise RepriceError(f"--since {text!r} is not a date or time (e.g. 2026-11-01)") from None


async def reprice(store: Store, since_ms: int = 0, now_ms: int | None = None) -> Repriced:
    done = Repriced()
    start = since_ms // HOUR_MS * HOUR_MS
    end = now_ms or int(datetime.now(UTC).timestamp() * 1000) + HOUR_MS
    sessions: set[str] = set()
    first = await _first_hour(store, start)
    for hour in range(first, end, HOUR_MS) if first is not None else ():
        events = await _events(
            store, "ts >= ? AND ts < ?", [_ts(store, hour), _ts(store, hour + HOUR_MS)]
        )
        snapshots = [e for e in events if e.event.type == EventType.METRIC_SNAPSHOT]
        done.calls += sum(1 for e in snapshots if e.payload.get("usage") is not None)
        sessions.update(e.correlation.session_id for e in snapshots if e.correlation.session_id)
        await _set_costs(store, project(events), (*_ROLLUP_TABLES, tables.SPANS), done)
    chunk = sorted(sessions)
    for offset in range(0, len(chunk), SESSION_CHUNK):
        ids = chunk[offset : offset + SESSION_CHUNK]
        where, params = store.in_list("session_id", ids)
        events = await _events(store, where, params)
        await _set_costs(store, project(events), _SESSION_TABLES, done)
    return done


async def _first_hour(store: Store, start_ms: int) -> int | None:
    rows = await store.fetch(
        "SELECT min(ts) AS ts FROM events WHERE ts >= ? AND type = ?",
        [_ts(store, start_ms), EventType.METRIC_SNAPSHOT.value],
    )
    found = rows[0]["ts"] if rows else None
    if found is None:
        return None
    ms = ts_to_ms(found) if isinstance(found, str) else int(found.timestamp() * 1000)
    return ms // HOUR_MS * HOUR_MS


def _ts(store: Store, ms: int) -> Any:
    return store.ts_param(ms_to_ts(ms))


async def _events(store: Store, where: str, params: list[Any]) -> list[Envelope]:
    """The stored events that carry a cost: model calls and span ends (llm ones priced)."""
    types = [EventType.METRIC_SNAPSHOT.value, EventType.SPAN_END.value]
    type_in, type_params = store.in_list("type", types)
    rows = await store.fetch(
        f"SELECT payload FROM events WHERE {where} AND {type_in}", [*params, *type_params]
    )
    return list(_decoded(rows))


def _decoded(rows: list[dict[str, Any]]) -> Iterator[Envelope]:
    import msgspec

    decoder = msgspec.json.Decoder(Envelope)
    for row in rows:
        payload = row["payload"]
        yield decoder.decode(payload.encode() if isinstance(payload, str) else payload)


async def _set_costs(
    store: Store, projection: Any, only: tuple[Table, ...], done: Repriced
) -> None:
    for table in only:
        rows = projection.rows[table].values()
        columns = ("cost_usd", "cost_source") if table is tables.SPANS else _COST_COLUMNS
        assignments = ", ".join(f"{c} = ?" for c in columns)
        match = " AND ".join(f"{k} = ?" for k in table.key)
        sql = f"UPDATE {table.name} SET {assignments} WHERE {match}"
        count = 0
        for row in rows:
            if table is tables.SPANS and row.get("cost_source") is None:
                continue
            values = [row.get(c) if table is tables.SPANS else row.get(c) or 0 for c in columns]
            count += await store.execute(sql, [*values, *(row[k] for k in table.key)])
        if count:
            done.add(table, count)
