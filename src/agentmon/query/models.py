"""The query API's answers, declared field by field (the web UI depends on every key)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Timestamp = str
SessionStatus = Literal["active", "idle", "waiting", "ended", "error", "stuck", "looping", "lost"]
Window = Literal["1h", "6h", "24h", "7d"]
CostSource = Literal["reported", "estimated", "mixed", "none"]


def _cost_usd() -> Any:
    return Field(None, description="USD; null when none of its calls had a price (≠ free)")


def _cost_source() -> Any:
    return Field(
        None,
        description='"reported" by the tool, "estimated" from prices, "mixed", '
        '"none" (tokens but no price known), or null (no model calls)',
    )


class Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ErrorResponse(Model):
    error: str = Field(description="What is wrong, naming the parameter or the unknown id")


class Health(Model):
    status: Literal["ok", "degraded"]
    store: str = Field(description='"ok", or the error the store answered')


class Tokens(Model):
    input: int
    output: int
    cache_read: int
    cache_write: int
    total: int


class DayTokens(Model):
    input: int
    output: int
    total: int


class ModelUsage(Model):
    model: str
    calls: int
    tokens: Tokens
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()


class Session(Model):
    session_id: str
    framework: str | None
    host: str | None
    client_id: str | None
    status: SessionStatus
    started_at: Timestamp | None
    ended_at: Timestamp | None = Field(
        description="Its latest session.end; null while open, and again when work starts after "
        "it (a resumed session, a new turn on the same key) until the next session.end"
    )
    last_event_at: Timestamp | None
    duration_ms: float | None = Field(
        description="Wall time: from its start to its end (to its latest event while open), "
        "gaps between resumed runs included"
    )
    active_ms: float | None = Field(
        description="Time it worked: the sum of its runs' durations (a running run up to its "
        "latest event), at most duration_ms; null when it has no runs"
    )
    title: str | None
    model: str | None
    cwd: str | None
    parent_session_id: str | None
    end_reason: str | None
    waiting_reason: str | None
    waiting_message: str | None
    run_count: int
    span_count: int
    tool_count: int
    error_count: int
    tokens: Tokens
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()
    last_run_status: str | None


class SessionWithModels(Session):
    models: list[ModelUsage] = Field(description="Usage per model, most tokens first")


class Run(Model):
    run_id: str
    session_id: str | None
    framework: str | None
    host: str | None
    status: str = Field(description='"running" until the run ends')
    started_at: Timestamp | None
    ended_at: Timestamp | None
    duration_ms: float | None
    input: str | None
    output: str | None
    error: str | None
    model: str | None
    usage: Any = Field(description="The usage object the agent reported, as sent")
    span_count: int
    tool_count: int
    error_count: int
    tokens: Tokens
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()


class Span(Model):
    span_id: str
    run_id: str | None
    session_id: str | None
    parent_span_id: str | None
    trace_id: str | None
    framework: str | None
    kind: str
    name: str | None
    status: str = Field(description='"running" until the span ends')
    started_at: Timestamp | None
    ended_at: Timestamp | None
    duration_ms: float | None
    error: str | None
    input: Any
    output: Any
    usage: Any
    tokens: Tokens | None = Field(
        None, description="`usage` in agentmon's counters (any tool's keys); null: none reported"
    )
    cost_usd: float | None = Field(None, description="An llm span's own cost (never summed)")
    cost_source: CostSource | None = _cost_source()
    attributes: dict[str, Any]
    reconstructed: bool = Field(description="Start time derived from the end and its duration")


class ErrorRecord(Model):
    event_id: str
    ts: Timestamp | None
    session_id: str | None
    run_id: str | None
    span_id: str | None
    framework: str | None
    host: str | None
    kind: str | None
    message: str | None


class SessionPage(Model):
    sessions: list[Session]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")
    total: int | None = Field(
        None,
        description="Sessions the filters select (first page only); counting stops at "
        "10,000: see `total_capped`",
    )
    total_capped: bool = Field(
        False, description="True: at least `total` sessions match (counting stopped there)"
    )


class SessionDetail(Model):
    session: SessionWithModels
    runs: list[Run]


class RunDetail(Model):
    run: Run
    spans: list[Span]
    errors: list[ErrorRecord]


class EventPage(Model):
    events: list[dict[str, Any]] = Field(description="agentmon.event envelopes, newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class DayCounts(Model):
    sessions: int = 0
    active_sessions: int = 0
    waiting_sessions: int = 0
    runs: int = 0
    tool_calls: int = 0
    errors: int = 0
    events: int = 0
    tokens: DayTokens = Field(default_factory=lambda: DayTokens(input=0, output=0, total=0))
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()


class Summary(DayCounts):
    day_start: Timestamp
    timezone: str = Field(
        default="UTC", description="The IANA zone whose midnight day_start is (tz)"
    )
    by_framework: dict[str, DayCounts]


class TimeseriesPoint(Model):
    ts: Timestamp
    t: int = Field(description="The bucket's start in epoch seconds")
    events: int
    runs: int
    tool_calls: int
    errors: int
    tokens: int
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()


class Timeseries(Model):
    window: Window
    bucket_seconds: int
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    points: list[TimeseriesPoint]


class ToolStats(Model):
    name: str
    calls: int
    errors: int
    avg_ms: float | None
    p50_ms: float | None = Field(default=None, description="Median of its latest timed calls")
    p95_ms: float | None = Field(default=None, description="95th percentile, likewise")


class TopTools(Model):
    window: Window
    tools: list[ToolStats]


class Facets(Model):
    frameworks: list[str]
    hosts: list[str]


class Instance(Model):
    name: str
    ts: Timestamp | None
    age_s: float
    stale: bool = Field(description="No snapshot from the monitor for STALE_AFTER_S seconds")
    snapshot: dict[str, Any] = Field(description="The latest openclaw.snapshot payload")
    issues: list[dict[str, Any]] = Field(description="{severity, code, message} each")


class Instances(Model):
    instances: list[Instance]


class HistoryPoint(Model):
    ts: Timestamp
    cpu_pct: float | None
    mem_pct: float | None
    disk_pct: float | None


class InstanceHistory(Model):
    name: str
    window: Window
    points: list[HistoryPoint]


AgentState = Literal["waiting", "stuck", "looping", "lost", "error", "working", "idle", "ended"]


class AgentToolCall(Model):
    name: str | None
    status: str = Field(description='"running" until the call ends')
    at: Timestamp | None = Field(description="When the call started")


class AgentToday(Model):
    runs: int = 0
    errors: int = 0
    tokens: int = 0
    cost_usd: float | None = _cost_usd()
    cost_source: CostSource | None = _cost_source()


class AgentVm(Model):
    name: str
    state: str = Field(description="The VM state the monitor last reported")
    reported_at: Timestamp | None
    stale: bool = Field(description="No snapshot for longer than AGENTMON_LOST_AFTER")
    issues: list[dict[str, Any]] = Field(description="{severity, code, message} each")


class Agent(Model):
    agent_id: str = Field(description="framework/client id (or host)")
    framework: str | None
    client_id: str | None
    host: str | None
    state: AgentState
    since: Timestamp | None = Field(description="When the agent entered its state")
    session_id: str = Field(description="The session the state comes from (the most urgent)")
    task: str | None = Field(description="The prompt of the session's latest run")
    run_id: str | None
    last_tool: AgentToolCall | None
    waiting_reason: str | None
    waiting_message: str | None = Field(description="The question it waits on, when waiting")
    last_event_at: Timestamp | None
    today: AgentToday = Field(description="Runs, errors, tokens and cost since UTC midnight")
    vm: AgentVm | None = Field(description="The VM it runs on, when one is monitored")


class Agents(Model):
    window: Window = Field(description="Agents heard from within this window")
    day_start: Timestamp
    timezone: str = Field(
        default="UTC", description="The IANA zone whose midnight day_start is (tz)"
    )
    counts: dict[str, int] = Field(description="Agents per state, over every agent")
    total: int = Field(description="The agents listed (in the state asked for), all pages")
    offset: int = Field(description="How many agents come before this page")
    more: bool = Field(description="Whether agents follow this page (ask offset + its length)")
    agents: list[Agent] = Field(description="This page of them, whoever needs a person first")


class ErrorGroup(Model):
    group: str = Field(description="The group's id: pass as `group` to /v1/errors")
    message: str = Field(description="The message with numbers, ids, paths and quotes as <…>")
    example: str | None = Field(description="The newest message of the group as it was")
    tool: str | None = Field(description="The tool (span name) the errors happened in")
    count: int
    first_seen: Timestamp
    last_seen: Timestamp
    sessions: int = Field(description="Sessions affected")
    agents: list[str] = Field(description="framework/agent ids affected")
    series: list[int] = Field(description="Errors per bucket, oldest first")


class ErrorGroups(Model):
    window: Window
    bucket_seconds: int
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    truncated: bool = Field(description="More errors than were read: the oldest are left out")
    groups: list[ErrorGroup] = Field(description="Most errors first")


class ErrorOccurrences(Model):
    group: str
    window: Window
    errors: list[ErrorRecord] = Field(description="Newest first")


AttentionKind = Literal["waiting", "stuck", "looping", "lost", "error"]


class AttentionAck(Model):
    by: str = Field(description="The key (or login) that acknowledged; anonymous without keys")
    at: Timestamp


class AttentionItem(Model):
    kind: AttentionKind
    id: str = Field(description="The session id; acknowledge with POST …/{kind}/{id}/ack")
    since: Timestamp = Field(description="When this occurrence began (a new one reopens it)")
    acknowledged: AttentionAck | None = Field(description="Null while nobody acknowledged it")
    session: Session


class AttentionGroup(Model):
    kind: AttentionKind
    open: int = Field(description="Items of this kind nobody acknowledged")
    acknowledged: int
    items: list[AttentionItem] = Field(
        description="Open first, then latest first; at most limit open and limit acknowledged"
    )


class AttentionList(Model):
    window: Window | None = Field(description="The window asked for, null when since was given")
    since: Timestamp = Field(description="Items that began at or after this")
    groups: list[AttentionGroup] = Field(description="Every kind, most urgent first")


class TimelineSpan(Model):
    state: Literal["working", "waiting"]
    start: Timestamp
    end: Timestamp


class AgentTimeline(Model):
    agent_id: str = Field(description="As in /v1/agents: framework/client id (or host)")
    framework: str
    spans: list[TimelineSpan] = Field(description="Oldest first; the time between is idle")
    working_ms: int
    waiting_ms: int = Field(description="How long it waited for a human in the window")


class Timeline(Model):
    hours: int
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    agents: list[AgentTimeline] = Field(description="Agents with any span, most waiting first")
