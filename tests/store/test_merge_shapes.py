"""Every read model folds rows of any shape in Python as its SQL upsert does.

`Table.merge` runs a function written for the columns a row carries, in their order (one per
row shape); these rows carry random subsets of each table's columns in random orders, so the
written functions cover missing order columns (LATEST), ends and starts arriving apart
(ENDED) and NULLs of every rule, and must agree with the generated `ON CONFLICT` clause.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from agentmon.store.tables import READ_MODELS, Rule, Table, ended, rows_as_tuples

ROUNDS = 150


def _value(rule: Rule, rng: random.Random) -> Any:
    if rng.random() < 0.25:
        return None
    if rule in (Rule.FIRST, Rule.OVERRIDE, Rule.LATEST):
        return rng.choice(("a", "b", "c", "d"))
    return rng.randint(0, 6)


def _row(table: Table, rng: random.Random) -> dict[str, Any]:
    """One row of `table` under the one key: some of its columns, in a random order."""
    row: dict[str, Any] = {name: "k" for name in table.key}
    columns = [c for c in table.columns if rng.random() < 0.6]
    rng.shuffle(columns)
    for column in columns:
        if column.rule is not Rule.ENDED:
            row[column.name] = _value(column.rule, rng)
    for column in table.columns:  # as the projection makes it: a row is ended by itself
        if column.rule is Rule.ENDED and column.until in row:
            assert column.until is not None and column.unless_after is not None
            row[column.name] = ended(row[column.until], row.get(column.unless_after))
    return row


def _stored_by_sql(table: Table, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        f"CREATE TABLE {table.name} ({', '.join(table.column_names)}, "
        f"PRIMARY KEY ({', '.join(table.key)}))"
    )
    marks = ", ".join("?" * len(table.column_names))
    sql = table.upsert_sql("sqlite", f"VALUES ({marks})")
    for values in rows_as_tuples(table, rows):
        conn.execute(sql, values)
    stored: tuple[Any, ...] = conn.execute(f"SELECT * FROM {table.name}").fetchone()
    return stored


@pytest.mark.parametrize("table", READ_MODELS, ids=lambda table: table.name)
def test_python_merge_agrees_with_the_sql_upsert_for_any_row_shape(table: Table) -> None:
    rng = random.Random(table.name)
    for _ in range(ROUNDS):
        rows = [_row(table, rng) for _ in range(rng.randint(2, 5))]
        merged = dict(rows[0])
        for row in rows[1:]:
            table.merge(merged, row)
        assert rows_as_tuples(table, [merged])[0] == _stored_by_sql(table, rows), rows
