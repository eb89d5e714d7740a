"""The merge rules fold rows the same in Python as the generated SQL does in the stores."""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest

from agentmon.store.tables import Column, Rule, Table, rows_as_tuples

TABLE = Table(
    "t",
    ("k",),
    (
        Column("first", Rule.FIRST),
        Column("override", Rule.OVERRIDE),
        Column("low", Rule.MIN),
        Column("high", Rule.MAX),
        Column("total", Rule.SUM),
        Column("latest", Rule.LATEST, order_by="high"),
    ),
)

ROWS: list[dict[str, Any]] = [
    {"k": 1, "first": "a", "override": None, "low": 5, "high": 5, "total": 1, "latest": "five"},
    {"k": 1, "first": "b", "override": "x", "low": None, "high": 9, "total": 2, "latest": "nine"},
    {
        "k": 1,
        "first": None,
        "override": None,
        "low": 2,
        "high": 3,
        "total": None,
        "latest": "three",
    },
]


def test_python_merge_and_sql_upsert_agree() -> None:
    merged = dict(ROWS[0])
    for row in ROWS[1:]:
        TABLE.merge(merged, row)
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE t (k PRIMARY KEY, first, override, low, high, "
        "total NOT NULL DEFAULT 0, latest)"
    )
    sql = TABLE.upsert_sql("sqlite", "VALUES (?, ?, ?, ?, ?, ?, ?)")
    for values in rows_as_tuples(TABLE, ROWS):
        conn.execute(sql, values)
    stored = dict(zip(TABLE.column_names, conn.execute("SELECT * FROM t").fetchone(), strict=True))
    assert merged == {
        "k": 1,
        "first": "a",
        "override": "x",
        "low": 2,
        "high": 9,
        "total": 3,
        "latest": "nine",
    }
    assert stored == merged


ENDS = Table(
    "e",
    ("k",),
    (
        Column("last_end", Rule.MAX),
        Column("last_start", Rule.MAX),
        Column("ended", Rule.ENDED, until="last_end", unless_after="last_start"),
    ),
)
# an end at 10, a start at 20 (resumed), an end at 30; a row carries its own `ended` as the
# projection makes it (an end row is ended by itself)
STINTS: list[dict[str, Any]] = [
    {"k": 1, "last_end": 10, "ended": 10},
    {"k": 1, "last_start": 20},
    {"k": 1, "last_end": 30, "ended": 30},
]


def _fold(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rows folded in Python and by the SQLite upsert, one row per statement."""
    merged = dict(rows[0])
    for row in rows[1:]:
        ENDS.merge(merged, row)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE e (k PRIMARY KEY, last_end, last_start, ended)")
    sql = ENDS.upsert_sql("sqlite", "VALUES (?, ?, ?, ?)")
    for values in rows_as_tuples(ENDS, rows):
        conn.execute(sql, values)
    stored = dict(zip(ENDS.column_names, conn.execute("SELECT * FROM e").fetchone(), strict=True))
    return {name: merged.get(name) for name in ENDS.column_names}, stored


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_end_holds_until_a_later_start_in_any_order(order: tuple[int, ...]) -> None:
    rows = [STINTS[i] for i in order]
    merged, stored = _fold(rows)
    assert merged == stored == {"k": 1, "last_end": 30, "last_start": 20, "ended": 30}
    reopened = [row for row in rows if row.get("last_end") != 30]
    merged, stored = _fold(reopened)
    assert merged == stored == {"k": 1, "last_end": 10, "last_start": 20, "ended": None}
