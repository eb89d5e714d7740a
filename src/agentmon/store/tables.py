"""The read models, described once.

Each table is a key plus columns with a merge rule. The rule says how a new row folds into a
stored one; the same rule merges rows inside one batch (in Python) and generates the
`ON CONFLICT DO UPDATE` clause for both SQLite and PostgreSQL, so the stores cannot disagree.
Times are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from operator import itemgetter
from typing import Any


class Rule(Enum):
    FIRST = "first"  # keep the stored value when there is one
    OVERRIDE = "override"  # a newer non-null value replaces the stored one
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    LATEST = "latest"  # the value that came with the greatest `order_by` column
    # `until`'s value (a MAX column) while no `unless_after` (a MAX column) is later, else NULL:
    # an end that a later start reopens, the same whatever order the two arrived in
    ENDED = "ended"


Merger = Callable[[dict[str, Any], dict[str, Any]], None]
# row shapes a table keeps a merge function for; past this the functions are made again
MAX_MERGERS = 1024


@dataclass(frozen=True)
class Column:
    name: str
    rule: Rule
    order_by: str | None = None  # for Rule.LATEST
    until: str | None = None  # for Rule.ENDED: the MAX column holding the latest end
    unless_after: str | None = None  # for Rule.ENDED: the MAX column holding the latest start


@dataclass(frozen=True, eq=False)  # hashed by identity: tables key hot dicts
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return self.key + tuple(c.name for c in self.columns)

    @cached_property
    def key_of(self) -> Callable[[dict[str, Any]], Any]:
        """A row's key: its key column's value, or a tuple of them (one C call, not a loop)."""
        return itemgetter(*self.key)

    @cached_property
    def _rule_of(self) -> dict[str, Rule]:
        derived = (Rule.LATEST, Rule.ENDED)
        return {c.name: c.rule for c in self.columns if c.rule not in derived}

    @cached_property
    def _latest(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.name, c.order_by) for c in self.columns if c.order_by is not None)

    @cached_property
    def _ended(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(
            (c.name, c.until, c.unless_after)
            for c in self.columns
            if c.until is not None and c.unless_after is not None
        )

    @cached_property
    def _mergers(self) -> dict[tuple[str, ...], Merger]:
        return {}

    def merge(self, stored: dict[str, Any], new: dict[str, Any]) -> None:
        """Fold `new` into `stored` in place, by the same rules the SQL applies.

        Only the columns `new` carries are visited (a missing column is a NULL, which no rule
        but LATEST lets win), so the cost follows the event, not the table's width: by a
        function written for the columns `new` carries, in their order (the projection builds
        rows of a few shapes; `_merger_source` says what it does), made once per shape.
        """
        shape = tuple(new)
        merger = self._mergers.get(shape)
        if merger is None:
            if len(self._mergers) >= MAX_MERGERS:  # shapes no event mix of ours reaches
                self._mergers.clear()
            namespace: dict[str, Any] = {"ended": ended}
            exec(self._merger_source(shape), namespace)  # our own column names only
            merger = self._mergers[shape] = namespace["merge"]
        merger(stored, new)

    def _merger_source(self, shape: tuple[str, ...]) -> str:
        """The body of `merge` for rows carrying the columns `shape`, straight-line Python.

        Each carried column with a rule: a NULL changes nothing; SUM adds a non-zero value,
        FIRST fills a NULL, OVERRIDE replaces, MIN and MAX keep the lesser and greater. Then
        each LATEST column whose order column came takes the new value when the new order is
        at least the stored one (as stored before this row); then each ENDED column whose end
        or start came is recomputed from the two as merged."""
        carried = set(shape)
        lines = ["def merge(stored, new):"]
        latest = [(name, order) for name, order in self._latest if order in carried]
        for index, (_, order) in enumerate(latest):
            lines.append(f"    order{index} = stored.get({order!r})")
        for name in shape:
            rule = self._rule_of.get(name)
            if rule is None:
                continue
            lines.append(f"    value = new[{name!r}]")
            if rule is Rule.SUM:
                lines += [
                    "    if value:",
                    f"        stored[{name!r}] = (stored.get({name!r}) or 0) + value",
                ]
                continue
            lines.append("    if value is not None:")
            if rule is Rule.FIRST:
                lines += [
                    f"        if stored.get({name!r}) is None:",
                    f"            stored[{name!r}] = value",
                ]
            elif rule is Rule.OVERRIDE:
                lines.append(f"        stored[{name!r}] = value")
            else:
                compare = "<" if rule is Rule.MIN else ">"
                lines += [
                    f"        old = stored.get({name!r})",
                    f"        if old is None or value {compare} old:",
                    f"            stored[{name!r}] = value",
                ]
        for index, (name, order) in enumerate(latest):
            taken = f"new[{name!r}]" if name in carried else "None"
            lines += [
                f"    value = new[{order!r}]",
                f"    if value is not None and (order{index} is None or value >= order{index}):",
                f"        stored[{name!r}] = {taken}",
            ]
        for name, until, unless_after in self._ended:
            if until in carried or unless_after in carried:
                merged = f"stored.get({until!r}), stored.get({unless_after!r})"
                lines.append(f"    stored[{name!r}] = ended({merged})")
        lines.append("    return None")
        return "\n".join(lines) + "\n"

    @cached_property
    def as_tuple(self) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """A row as a tuple in column order, a sum column it does not touch as 0: one
        expression written for the table's columns (a loop over them cost ~3x as much)."""
        zero = {c.name for c in self.columns if c.rule is Rule.SUM}
        values = "".join(
            f"row.get({name!r}) or 0, " if name in zero else f"row.get({name!r}), "
            for name in self.column_names
        )
        as_tuple: Callable[[dict[str, Any]], tuple[Any, ...]] = eval(f"lambda row: ({values})")
        return as_tuple

    def upsert_sql(self, dialect: str, source: str) -> str:
        """`INSERT … SELECT … FROM <source> ON CONFLICT (key) DO UPDATE SET …`."""
        names = ", ".join(self.column_names)
        updates = ", ".join(f"{c.name} = {_merge_sql(c, self.name, dialect)}" for c in self.columns)
        conflict = ", ".join(self.key)
        return (
            f"INSERT INTO {self.name} ({names}) {source} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )


def ended(end: Any, start: Any) -> Any:
    """Rule.ENDED: the latest end, unless a start came after it (an equal time ends)."""
    return end if end is not None and (start is None or end >= start) else None


def _merge_sql(column: Column, table: str, dialect: str) -> str:
    stored, new = f"{table}.{column.name}", f"excluded.{column.name}"
    least, greatest = ("min", "max") if dialect == "sqlite" else ("least", "greatest")
    rule = column.rule
    if rule is Rule.ENDED:  # from the two columns as merged (SET reads the stored row)
        assert column.until is not None and column.unless_after is not None
        end = _merge_sql(Column(column.until, Rule.MAX), table, dialect)
        start = _merge_sql(Column(column.unless_after, Rule.MAX), table, dialect)
        return f"CASE WHEN {end} >= coalesce({start}, {end}) THEN {end} END"
    if rule is Rule.FIRST:
        return f"coalesce({stored}, {new})"
    if rule is Rule.OVERRIDE:
        return f"coalesce({new}, {stored})"
    if rule is Rule.SUM:
        return f"coalesce({stored}, 0) + coalesce({new}, 0)"
    if rule in (Rule.MIN, Rule.MAX):
        fn = least if rule is Rule.MIN else greatest
        return f"{fn}(coalesce({stored}, {new}), coalesce({new}, {stored}))"
    order = column.order_by
    return (
        f"CASE WHEN excluded.{order} IS NOT NULL AND "
        f"(({table}.{order}) IS NULL OR excluded.{order} >= {table}.{order}) "
        f"THEN {new} ELSE {stored} END"
    )


def _columns(rule: Rule, *names: str, order_by: str | None = None) -> tuple[Column, ...]:
    return tuple(Column(n, rule, order_by) for n in names)


# Calls whose cost was reported, estimated, or neither; `cost_usd` sums only priced calls,
# and these say whether a total is reported, estimated, mixed or not priced at all.
COST_COUNTS = ("reported_calls", "estimated_calls", "unpriced_calls")

USAGE_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
    "cost_usd",
    *COST_COUNTS,
)

SESSIONS = Table(
    "sessions",
    ("session_id",),
    _columns(
        Rule.FIRST, "framework", "host", "client_id", "title", "model", "parent_session_id", "cwd"
    )
    + _columns(Rule.MIN, "first_ts", "started_at")
    + _columns(Rule.MAX, "last_ts", "last_run_ts", "last_end_ts", "last_start_ts")
    + _columns(Rule.OVERRIDE, "end_reason")
    + _columns(Rule.SUM, "error_count", *USAGE_COLUMNS)
    + _columns(Rule.LATEST, "last_run_status", order_by="last_run_ts")
    + _columns(Rule.LATEST, "waiting_reason", "waiting_message", order_by="last_ts")
    # a session ends at its latest session.end, and a start after that (a resumed session, a
    # new turn on the same key) opens it again until the next end
    + (Column("ended_at", Rule.ENDED, until="last_end_ts", unless_after="last_start_ts"),),
)

RUNS = Table(
    "runs",
    ("run_id",),
    _columns(Rule.FIRST, "session_id", "framework", "host", "input", "model")
    + _columns(Rule.MIN, "first_ts", "started_at")
    + _columns(Rule.MAX, "last_ts", "ended_at")
    + _columns(Rule.OVERRIDE, "status", "output", "error", "duration_ms", "usage")
    + _columns(Rule.SUM, "error_count", *USAGE_COLUMNS),
)

SPANS = Table(
    "spans",
    ("span_id",),
    _columns(
        Rule.FIRST,
        "run_id",
        "session_id",
        "trace_id",
        "parent_span_id",
        "framework",
        "kind",
        "name",
        "input",
    )
    + _columns(Rule.MIN, "first_ts", "started_at", "derived_start")
    + _columns(Rule.MAX, "ended_at")
    + _columns(
        Rule.OVERRIDE,
        "status",
        "error",
        "output",
        "duration_ms",
        "attributes",
        "usage",
        "cost_usd",  # an llm span's own cost, for display: never summed
        "cost_source",
    ),
)

MODEL_USAGE = Table(
    "model_usage",
    ("session_id", "model"),
    _columns(Rule.FIRST, "framework")
    + _columns(Rule.MAX, "last_ts")
    + _columns(Rule.SUM, "calls", *USAGE_COLUMNS),
)

# the Costs view's and the budgets' source: calls per hour, session and model
USAGE_HOUR = Table(
    "usage_hour",
    ("bucket", "session_id", "model"),
    _columns(Rule.FIRST, "framework") + _columns(Rule.SUM, "calls", *USAGE_COLUMNS),
)

ROLLUP_COUNTS = (
    "events",
    "sessions",
    "runs",
    "tool_calls",
    "errors",
    "total_tokens",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    *COST_COUNTS,
)


def _rollup(name: str) -> Table:
    return Table(name, ("bucket", "framework"), _columns(Rule.SUM, *ROLLUP_COUNTS))


def _tool_rollup(name: str) -> Table:
    return Table(
        name, ("bucket", "name"), _columns(Rule.SUM, "calls", "errors", "timed_calls", "total_ms")
    )


ROLLUP_MINUTE = _rollup("rollup_minute")
ROLLUP_HOUR = _rollup("rollup_hour")
TOOL_ROLLUP_MINUTE = _tool_rollup("tool_rollup_minute")
TOOL_ROLLUP_HOUR = _tool_rollup("tool_rollup_hour")

VM_LATEST = Table(
    "vm_latest",
    ("name",),
    _columns(Rule.MAX, "ts") + _columns(Rule.LATEST, "snapshot", order_by="ts"),
)

VM_HISTORY = Table(
    "vm_history",
    ("name", "ts"),
    _columns(Rule.OVERRIDE, "cpu_pct", "mem_pct", "disk_pct"),
)

ERRORS = Table(
    "errors",
    ("event_id",),
    _columns(
        Rule.FIRST, "ts", "session_id", "run_id", "span_id", "framework", "host", "kind", "message"
    ),
)

FACETS = Table("facets", ("kind", "value"), _columns(Rule.MAX, "last_ts"))

# the roster's read model (store/agents.py): each agent's latest event and its session
AGENTS = Table(
    "agents",
    ("framework", "agent"),
    _columns(Rule.MAX, "last_ts") + _columns(Rule.LATEST, "session_id", order_by="last_ts"),
)

# the roster's "today": runs, errors and usage per agent per quarter hour
AGENT_QUARTER = Table(
    "agent_quarter",
    ("bucket", "framework", "agent"),
    _columns(Rule.SUM, "runs", "errors", "total_tokens", "cost_usd", *COST_COUNTS),
)

# the events saying an agent waits for a human: the timeline's waiting spans
AGENT_WAITS = Table(
    "agent_waits",
    ("event_id",),
    _columns(Rule.FIRST, "session_id", "ts", "event_ts", "framework", "agent"),
)

READ_MODELS: tuple[Table, ...] = (
    SESSIONS,
    RUNS,
    SPANS,
    MODEL_USAGE,
    USAGE_HOUR,
    ROLLUP_MINUTE,
    ROLLUP_HOUR,
    TOOL_ROLLUP_MINUTE,
    TOOL_ROLLUP_HOUR,
    VM_LATEST,
    VM_HISTORY,
    ERRORS,
    FACETS,
    AGENTS,
    AGENT_QUARTER,
    AGENT_WAITS,
)


def rows_as_tuples(table: Table, rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows in column order; a sum column a row does not touch counts as 0."""
    return list(map(table.as_tuple, rows))
