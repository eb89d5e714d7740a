"""The agent roster (`GET /v1/agents`): its read model, kept at write time, and its query.

An agent is its framework plus its client id, or its host when it has none. The write path
keeps, per agent, its latest event and that event's session (`agents`, from the sessions the
batch touched), its runs, errors and
usage per quarter hour (`agent_quarter`), and every event saying it waits for a human
(`agent_waits`, the timeline's). A status depends on "now", so it is still decided at read
time, but only over the sessions that can speak for an agent: its open ones and its latest;
ended sessions, the bulk of any store, are never ranked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from agentmon.events import Envelope, EventType
from agentmon.store import tables
from agentmon.store.queries import WINDOWS, Queries, Row, StatusContext
from agentmon.store.tables import COST_COUNTS

if TYPE_CHECKING:
    import asyncpg

    from agentmon.store.projection import Projection

QUARTER_MS = 900_000  # every time zone's midnight falls on a quarter hour
DAY_MS = 86_400_000

# whoever needs a person first: the roster's order, and which session speaks for an agent
STATUS_URGENCY = ("waiting", "stuck", "looping", "lost", "error", "active", "idle", "ended")
_URGENCY_RANK = {status: rank for rank, status in enumerate(STATUS_URGENCY)}
# an agent is its framework plus its client id, or its host when it has none
AGENT_SQL = "coalesce(s.client_id, s.host, '')"
# the sessions columns the roster ranks by (a thousand agents' whole rows cost their
# conversion; the rest is read for one page of them)
_RANK_COLUMNS = ", ".join(
    f"s.{name}"
    for name in (
        "session_id",
        "framework",
        "client_id",
        "host",
        "last_ts",
        "ended_at",
        "last_run_ts",
    )
)
_DETAIL_COLUMNS = ", ".join(f"s.{name}" for name in ("title", "waiting_reason", "waiting_message"))
_NO_DETAILS: Row = dict.fromkeys(
    (
        "title",
        "waiting_reason",
        "waiting_message",
        "run_input",
        "latest_tool",
        "tool_name",
        "tool_status",
        "tool_first_ts",
        "tool_started_at",
        "tool_derived_start",
    )
)
# since when an active session's agent works: its latest run's start while that run is open,
# else its last run's (or the session's own), in SQL as one column instead of five
_WORKING_SINCE = (
    "CASE WHEN r.run_id IS NOT NULL AND r.ended_at IS NULL THEN coalesce(r.started_at, r.first_ts) "
    "ELSE coalesce(s.last_run_ts, s.started_at, s.first_ts) END"
)
# the page's sessions' latest run's latest tool call, as the roster shows it
_TOOL_COLUMNS = ", ".join(
    f"sp.{name} AS tool_{name}"
    for name in ("name", "status", "first_ts", "started_at", "derived_start")
)
# the sessions that can be an agent's most urgent, and whether each is its agent's latest:
# every agent's latest (as `agents` keeps it), then the other open sessions. A failure
# (ended or still open) speaks for an agent only while it is the agent's latest session: one
# that later work has followed is history (the attention list keeps it until acknowledged).
# Both parts are read from their own indexes and flagged there, instead of ranking the union's
# sessions and probing the latest ones for each of them (10-15% of the ranking query).
_LATEST = "SELECT session_id FROM agents WHERE last_ts >= ? AND session_id IS NOT NULL"
_CANDIDATES = (
    f"SELECT session_id, TRUE AS latest FROM ({_LATEST}) agent_latest UNION ALL "
    "SELECT session_id, FALSE FROM sessions WHERE ended_at IS NULL AND last_ts >= ? "
    f"AND session_id NOT IN ({_LATEST})"
)

# of a priced call's usage columns, what an agent's day sums
_USAGE_COUNTED = ("total_tokens", "cost_usd", *COST_COUNTS)
_RUN_START = EventType.RUN_START.value
_ERROR = EventType.ERROR.value


@dataclass(frozen=True)
class AgentRows:
    ctx: StatusContext
    day_start: int
    idle_timeout_ms: int
    # the page's agents in the roster's order, one row each, with `agent`, `status`,
    # `since_ms`, its latest run (`latest_run`, `run_input`) and that run's latest tool call
    # (`latest_tool`, `tool_*`)
    sessions: list[Row]
    today: dict[tuple[str, str], Row]  # (framework, agent) → runs, tokens, cost_usd, errors
    vms: dict[str, Row]  # vm_latest rows by name
    counts: Counter[str]  # every agent's status, not only the page's
    total: int  # every agent listed (in the status asked for), not only the page's


# --- the write side ----------------------------------------------------------------------


def agent_of(client_id: str | None, host: str | None) -> str:
    """The agent as `AGENT_SQL` names it: the client id, else the host, else ''."""
    if client_id is not None:
        return client_id
    return host if host is not None else ""


def collect(projection: Projection) -> None:
    """Each agent's latest session, from the batch's session rows (a few per batch, not one
    per event): the session's own framework and agent, as the roster ranks it."""
    for row in projection.rows[tables.SESSIONS].values():
        agent = agent_of(row.get("client_id"), row.get("host"))
        latest = {"last_ts": row["last_ts"], "session_id": row["session_id"]}
        projection.add(tables.AGENTS, {"framework": row["framework"], "agent": agent, **latest})


def project(projection: Projection, event: Envelope, ms: int, usage: dict[str, Any]) -> None:
    """The roster's rows for one event of a session (events of no session name no agent):
    what it adds to its agent's day, and the wait it starts; `usage` is the event's priced
    model call as the usage columns count it ({} for none)."""
    session_id = event.correlation.session_id
    if not session_id:
        return
    counts = _counts(event, usage)
    asks = event.payload.get("agent_state") == "waiting_for_human"
    if not counts and not asks:
        return
    source = event.event.source
    who = {"framework": source.framework, "agent": agent_of(source.client_id, source.host)}
    if counts:
        bucket = ms // QUARTER_MS * QUARTER_MS
        projection.add(tables.AGENT_QUARTER, {"bucket": bucket, **who, **counts})
    if asks:
        wait = {"event_id": event.event.id, "session_id": session_id, "ts": ms}
        projection.add(tables.AGENT_WAITS, {**wait, "event_ts": event.event.ts, **who})


def _counts(event: Envelope, usage: dict[str, Any]) -> dict[str, Any]:
    """What one event adds to its agent's day: a run started, an error, or a model call's
    usage within a run (as the runs' own totals count it)."""
    kind, run_id = event.event.type, event.correlation.run_id
    if kind == _RUN_START and run_id:
        return {"runs": 1}
    if kind == _ERROR:
        return {"errors": 1}
    if not usage or not run_id:
        return {}
    return {name: usage[name] for name in _USAGE_COUNTED if name in usage}


# Each touched session's latest run and each touched run's latest tool call (migration 024),
# recounted from the stored rows after the batch's upserts: a run's first sight only moves
# earlier as its events arrive, so a running maximum over events could keep a run that an
# earlier-seen one no longer follows; the recount gives the same answer in any order. On
# PostgreSQL two batches of one session (one run) serialise on its row, which both upsert
# before this, so the later one reads the earlier one's runs (spans).
_LATEST_TOOL = (
    "UPDATE runs SET latest_tool_id = counted.latest FROM (SELECT touched.run_id, "
    "(SELECT sp.span_id FROM spans sp WHERE sp.run_id = touched.run_id AND sp.kind = 'tool' "
    "ORDER BY sp.first_ts DESC, sp.span_id DESC LIMIT 1) AS latest "
    "FROM (SELECT DISTINCT run_id FROM spans WHERE span_id IN ({ids}) AND kind = 'tool' "
    "AND run_id IS NOT NULL) touched) counted "
    "WHERE runs.run_id = counted.run_id AND runs.latest_tool_id {differs} counted.latest"
)
_LATEST_RUN = (
    "UPDATE sessions SET latest_run_id = counted.latest FROM (SELECT touched.session_id, "
    "(SELECT r.run_id FROM runs r WHERE r.session_id = touched.session_id "
    "ORDER BY r.first_ts DESC, r.run_id DESC LIMIT 1) AS latest "
    "FROM (SELECT DISTINCT session_id FROM runs WHERE run_id IN ({ids}) "
    "AND session_id IS NOT NULL) touched) counted "
    "WHERE sessions.session_id = counted.session_id "
    "AND sessions.latest_run_id {differs} counted.latest"
)
_SQLITE_IDS = {"ids": "SELECT value FROM json_each(?)", "differs": "IS NOT"}
_SQLITE_LATEST = (_LATEST_TOOL.format(**_SQLITE_IDS), _LATEST_RUN.format(**_SQLITE_IDS))
# both in one statement (one round trip): the second reads only runs' columns the first
# does not write
_POSTGRES_LATEST = (
    "WITH tools AS ("
    + _LATEST_TOOL.format(ids="SELECT unnest($1::text[])", differs="IS DISTINCT FROM")
    + "), latest_runs AS ("
    + _LATEST_RUN.format(ids="SELECT unnest($2::text[])", differs="IS DISTINCT FROM")
    + ") SELECT 1"
)


def _touched(projection: Projection) -> tuple[list[str], list[str]]:
    """The batch's span ids and run ids."""
    spans = [row["span_id"] for row in projection.rows[tables.SPANS].values()]
    return spans, [row["run_id"] for row in projection.rows[tables.RUNS].values()]


def keep_latest_sqlite(conn: Any, projection: Projection) -> None:
    """The latest tool call of the runs whose spans the batch wrote, then the latest run of
    the sessions whose runs it wrote (sqlite3, in the transaction, after the upserts)."""
    for sql, ids in zip(_SQLITE_LATEST, _touched(projection), strict=True):
        if ids:
            conn.execute(sql, (msgspec.json.encode(ids).decode(),))


async def keep_latest_postgres(conn: asyncpg.Connection, projection: Projection) -> None:
    """As `keep_latest_sqlite`, on PostgreSQL, in one statement."""
    spans, runs = _touched(projection)
    if spans or runs:
        await conn.execute(_POSTGRES_LATEST, spans, runs)


# --- the read side -----------------------------------------------------------------------


async def roster(
    store: Queries,
    window: str,
    now_ms: int | None = None,
    day_start: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    status: str | None = None,
) -> AgentRows:
    """Every agent heard from within the window, ranked whoever needs a person first, and of
    one page of them (`offset`, `limit`; default all) their most urgent session's details
    with its latest run and tool call, today's figures (since `day_start`, default the UTC
    midnight; a quarter hour, as every time zone's midnight is) and the VM it runs on. With
    `status`, only the agents in it are paged (the counts still cover all). The ranking
    reads only what it needs; the rest is read for the page's agents only."""
    now_ms = now_ms or store._now_ms()
    day_start = now_ms // DAY_MS * DAY_MS if day_start is None else day_start
    since = now_ms - WINDOWS[window][0] * 1000
    async with store.reading():  # one snapshot; on PostgreSQL one connection, custom plans
        ctx, vm_rows = await store.status_context_and_vms(now_ms)
        vms = {vm["name"]: vm for vm in vm_rows}
        ranked = await _ranked_agents(store, ctx, vms, since)
        listed = ranked if status is None else [row for row in ranked if row["status"] == status]
        end = len(listed) if limit is None else offset + limit
        page = listed[offset:end]
        everyone = len(page) == len(ranked)
        details, today = await _page_rows(store, page, day_start, everyone)
    for row in page:
        row.update(details.get(row["session_id"], _NO_DETAILS))
    counts = Counter(row["status"] for row in ranked)
    return AgentRows(ctx, day_start, store.idle_timeout_ms, page, today, vms, counts, len(listed))


def agent_id(framework: str | None, agent: str | None) -> str:
    """An agent's id as the API names it: framework/client id (or host)."""
    return f"{framework or 'unknown'}/{agent or 'unknown'}"


def vm_of(row: Row, vms: dict[str, Row]) -> Row | None:
    """The VM a session's agent runs on: named by its client id, else its host."""
    return vms.get(row["client_id"] or "") or vms.get(row["host"] or "")


async def _ranked_agents(
    store: Queries, ctx: StatusContext, vms: dict[str, Row], since: int
) -> list[Row]:
    """Every agent's most urgent session (`_most_urgent_sessions`), each with when it
    entered its status (`since_ms`), in the roster's order: the most urgent status first,
    then the longest in it, then by agent id."""
    chosen = await _most_urgent_sessions(store, ctx, since)
    idle_timeout_ms = store.idle_timeout_ms
    for row in chosen:
        vm = vm_of(row, vms) if row["status"] == "lost" else None  # only a lost one's counts
        row["since_ms"] = state_since(row, vm, ctx, idle_timeout_ms)
    return sorted(chosen, key=_roster_order)


def _roster_order(row: Row) -> tuple[int, int, str]:
    since = row["since_ms"]
    return (
        _URGENCY_RANK[row["status"]],
        -1 if since is None else since,
        agent_id(row["framework"], row["agent"]),
    )


def state_since(row: Row, vm: Row | None, ctx: StatusContext, idle_timeout_ms: int) -> int | None:
    """When the session entered its status, from the same thresholds that decide it."""
    status, last = row["status"], row["last_ts"]
    if status == "stuck":
        return int(last) + ctx.now_ms - ctx.stuck_cutoff
    if status == "idle":
        return int(last) + idle_timeout_ms
    if status == "looping":
        return ctx.looping.get(row["session_id"])
    if status == "lost" and vm is not None:
        return ctx.lost_vms.get(vm["name"])
    if status in ("ended", "error") and row["ended_at"] is not None:
        return int(row["ended_at"])
    if status == "error":
        return _ms(row["last_run_ts"])
    if status == "active":
        return _ms(row["working_since"])
    return _ms(last)  # waiting: the event that asked is the latest


def _ms(value: Any) -> int | None:
    return None if value is None else int(value)


async def _most_urgent_sessions(store: Queries, ctx: StatusContext, since: int) -> list[Row]:
    """Per agent, the session that most needs a person (then the latest). A failure speaks
    for its agent only while it is the agent's latest session."""
    chosen: dict[tuple[str, str], tuple[tuple[int, int, str], Row]] = {}
    for row in await _candidates(store, ctx, since):
        if row["status"] == "error" and not row["latest"]:
            continue
        key = (_URGENCY_RANK[row["status"]], -(row["last_ts"] or 0), row["session_id"])
        agent = (row["framework"], row["agent"])
        best = chosen.get(agent)
        if best is None or key < best[0]:
            chosen[agent] = (key, row)
    return [row for _, row in chosen.values()]


async def _candidates(store: Queries, ctx: StatusContext, since: int) -> list[Row]:
    """The sessions that can speak for an agent within the window (its open ones and its
    latest), with their status, whether each is its agent's latest, and what the ranking
    needs of their latest run (kept at write time: `keep_latest_sqlite`): a few per agent,
    ranked in Python (cheaper than a window function over them in SQL)."""
    status_sql, status_params = store._status_case(ctx)
    return await store.fetch(
        f"SELECT {_RANK_COLUMNS}, {AGENT_SQL} AS agent, {status_sql} AS status, c.latest, "
        # the run as found: one that retention deleted is none
        f"r.run_id AS latest_run, {_WORKING_SINCE} AS working_since FROM ({_CANDIDATES}) c "
        "JOIN sessions s ON s.session_id = c.session_id "
        "LEFT JOIN runs r ON r.run_id = s.latest_run_id WHERE s.last_ts >= ?",
        [*status_params, since, since, since, since],
    )


async def _page_rows(
    store: Queries, page: list[Row], day_start: int, everyone: bool
) -> tuple[dict[str, Row], dict[tuple[str, str], Row]]:
    """The page's sessions' details (`_details`) and its agents' day (`_today`), read in
    one go (SQLite: one reader-thread hand-off for both)."""
    if not page:
        return {}, {}
    details, today = await store.fetch_each(
        [_details(store, page), _today(store, day_start, page, everyone)]
    )
    wanted = {(row["framework"], row["agent"]) for row in page}
    return (
        {row.pop("session_id"): row for row in details},
        {key: row for row in today if (key := (row["framework"], row["agent"])) in wanted},
    )


def _details(store: Queries, page: list[Row]) -> tuple[str, list[Any]]:
    """What the roster shows of the page's sessions beyond their ranking: the title, the
    question waited on, the latest run's prompt and that run's latest tool call."""
    where, params = store.in_list("s.session_id", [row["session_id"] for row in page])
    return (
        f"SELECT s.session_id, {_DETAIL_COLUMNS}, r.input AS run_input, "
        # the span as found: one that retention deleted is none
        f"sp.span_id AS latest_tool, {_TOOL_COLUMNS} FROM sessions s "
        "LEFT JOIN runs r ON r.run_id = s.latest_run_id "
        f"LEFT JOIN spans sp ON sp.span_id = r.latest_tool_id WHERE {where}",
        params,
    )


def _today(
    store: Queries, day_start: int, page: list[Row], everyone: bool
) -> tuple[str, list[Any]]:
    """The page's agents' runs, errors, tokens and cost since `day_start`; when the page is
    every agent, without probing a list of them (a thousand cost more than they filter)."""
    agents = sorted({row["agent"] for row in page})
    where, params = ("TRUE", []) if everyone else store.in_list("agent", agents)
    return (
        "SELECT framework, agent, sum(runs) AS runs, sum(errors) AS errors, "
        "sum(total_tokens) AS tokens, sum(cost_usd) AS cost_usd, "
        + ", ".join(f"sum({name}) AS {name}" for name in COST_COUNTS)
        + f" FROM agent_quarter WHERE bucket >= ? AND {where} GROUP BY framework, agent",
        [day_start, *params],
    )
