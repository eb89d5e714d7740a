"""The merge rules fold rows the same in Python as the generated SQL does in the stores."""

from __future__ import annotations

import sqlite3
from typing import Any

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
