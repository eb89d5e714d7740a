// Agents: the roster. One card per agent (framework + client or host) in the order whoever
// needs a person comes first: its state and since when, the question it waits on, its task,
// its last tool call, today's figures and its VM. Live: refetched on events (throttled) and
// every half minute, since stuck and lost agents are the ones that send nothing. Each card ends
// with a swimlane of the agent's last hours (working, waiting for you, idle). The roster comes
// a page at a time ("Show more"); a live refresh asks for as many agents as are shown.
import { html, useCallback, useEffect, useRef, useState } from "../lib.js";
import { getJSON, onResync, withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import {
  costTitle, formatAgo, formatCompact, formatCostOf, formatDateTime, formatDuration, formatTime, oneLine, parseTs, plural, browserZone,
} from "../format.js";
import { Empty, Loaded, SetupHint } from "../components/status.js";
import { vmCardHref } from "./openclaw.js";

const EVERY_EVENT = () => true;
const REFRESH_MS = 30000;
const PAGE = 100; // agents per "Show more"
const MOST_PER_REQUEST = 1000; // the API's largest page
const STATES = ["waiting", "stuck", "looping", "lost", "error", "working", "idle", "ended"];
const STATE_LABELS = {
  waiting: "waiting for you",
  stuck: "stuck",
  looping: "looping",
  lost: "lost",
  error: "failed",
  working: "working",
  idle: "idle",
  ended: "ended",
};
// what the time in a state means, per state
const SINCE_WORDS = {
  waiting: "asked",
  stuck: "stuck since",
  looping: "looping since",
  lost: "lost since",
  error: "failed",
  working: "working since",
  idle: "idle since",
  ended: "ended",
};

function StateBadge({ state }) {
  return html`<span class=${`badge badge-${state}`}>${STATE_LABELS[state] || state}</span>`;
}

function VmHealth({ vm }) {
  if (!vm) return null;
  const level = vm.stale || !["running", "blocked"].includes(vm.state) ? "bad"
    : vm.issues.length ? "warn" : "ok";
  const issues = vm.issues.map((i) => i.message).join("; ");
  const title = vm.stale ? `${vm.name}: no snapshot since ${formatDateTime(vm.reported_at)}` : issues || `${vm.name}: healthy`;
  return html`<${Link} class=${`vm-pill level-${level}`} href=${vmCardHref(vm.name)} title=${title}>
    <span class="dot" aria-hidden="true"></span>
    <span class="vm-name">${vm.name}</span>
    <span class="vm-state">${vm.stale ? "silent" : vm.state}</span>
  <//>`;
}

const LANE_HOURS = [1, 6, 12, 24];

/** The agent's last hours as one bar: working and waiting spans, idle between. */
function Swimlane({ lane, timeline }) {
  const from = parseTs(timeline.from);
  const width = Math.max(parseTs(timeline.to) - from, 1);
  const spans = lane ? lane.spans : [];
  const parts = [];
  if (lane?.waiting_ms) parts.push(`waited ${formatDuration(lane.waiting_ms)}`);
  if (lane?.working_ms) parts.push(`worked ${formatDuration(lane.working_ms)}`);
  const summary = `last ${timeline.hours} h: ${parts.length ? parts.join(", ") : "idle"}`;
  return html`<div class="swimlane-row">
    <div class="swimlane" role="img" aria-label=${summary}>
      ${spans.map((span) => {
        const start = parseTs(span.start);
        const end = parseTs(span.end);
        const style = { left: `${((start - from) / width) * 100}%`, width: `${Math.max(((end - start) / width) * 100, 0.4)}%` };
        return html`<span key=${span.start + span.state} class=${`lane-span lane-${span.state}`} style=${style}
          title=${`${span.state} ${formatTime(span.start)}–${formatTime(span.end)}`}></span>`;
      })}
    </div>
    <span class=${`lane-summary small ${lane?.waiting_ms ? "warn-text" : "muted"}`}>${summary}</span>
  </div>`;
}

function AgentCard({ agent: a, now, lane, timeline }) {
  const tool = a.last_tool;
  const today = a.today;
  return html`<li class=${`agent-card state-${a.state}`} data-agent=${a.agent_id}>
    <div class="agent-head">
      <${StateBadge} state=${a.state} />
      <span class="agent-name">${a.client_id || a.host || "unknown"}</span>
      <span class="muted small">${a.framework}</span>
      <span class="agent-since muted small" title=${formatDateTime(a.since)}>
        ${SINCE_WORDS[a.state]} ${formatAgo(a.since, now)}</span>
    </div>
    ${a.state === "waiting" && html`<p class="agent-question">
      <span class="muted">${a.waiting_reason ? a.waiting_reason.replace(/_/g, " ") : "It asks"}:</span>${" "}
      <q>${a.waiting_message || "(no question given)"}</q></p>`}
    <${Link} class="agent-task" href=${`/sessions/${encodeURIComponent(a.session_id)}`}>
      ${a.task ? oneLine(a.task, 160) : html`<span class="muted">no task yet</span>`}<//>
    <div class="agent-facts muted small">
      ${tool ? html`<span class="agent-tool">last tool <strong class="mono">${tool.name || "?"}</strong>${" "}
        <span class=${tool.status === "error" ? "bad-text" : ""}>${tool.status}</span>${" · "}${formatAgo(tool.at, now)}</span>`
        : html`<span>no tool call yet</span>`}
      <span class="agent-today">today: ${plural(today.runs, "run")}${" · "}<span class=${today.errors ? "bad-text" : ""}>${plural(today.errors, "error")}</span>${" · "}${formatCompact(today.tokens)} tokens · <span title=${costTitle(today.cost_source)}>${formatCostOf(today.cost_usd, today.cost_source)}</span></span>
      <${VmHealth} vm=${a.vm} />
    </div>
    ${timeline && html`<${Swimlane} lane=${lane} timeline=${timeline} />`}
  </li>`;
}

function StateFilter({ counts, selected, onPick }) {
  return html`<div class="state-filter" role="group" aria-label="Filter by state">
    ${STATES.map((state) => html`<button key=${state} type="button"
        class=${`chip state-${state} ${selected === state ? "active" : ""}`} aria-pressed=${selected === state}
        disabled=${!counts[state] && selected !== state}
        onClick=${() => onPick(selected === state ? null : state)}>
      ${STATE_LABELS[state]} <span class="num">${counts[state] || 0}</span>
    </button>`)}
  </div>`;
}

/** The first `count` agents (in pages of at most the API's largest), as one answer. */
async function fetchAgents(params, count) {
  let answer = null;
  while (answer === null || (answer.more && answer.agents.length < count)) {
    const offset = answer ? answer.agents.length : 0;
    const limit = Math.min(count - offset, MOST_PER_REQUEST);
    const page = await getJSON(withQuery("/v1/agents", { ...params, offset, limit }));
    if (answer === null) {
      answer = page;
    } else {
      const seen = new Set(answer.agents.map((a) => a.agent_id));
      answer = { ...page, offset: 0, agents: [...answer.agents, ...page.agents.filter((a) => !seen.has(a.agent_id))] };
    }
  }
  return answer;
}

/** The roster's first pages, as `useFetch` gives an answer: `reload` keeps the number of
 * agents shown, `more` adds a page. */
function useRoster(params) {
  const key = JSON.stringify(params);
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const shown = useRef(PAGE);
  const seq = useRef(0);
  const load = useCallback(async () => {
    const mine = ++seq.current;
    setState((prev) => ({ ...prev, loading: true }));
    try {
      const data = await fetchAgents(JSON.parse(key), shown.current);
      if (mine === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === seq.current) setState((prev) => ({ data: prev.data, error, loading: false }));
    }
  }, [key]);
  useEffect(() => {
    shown.current = PAGE;
    setState({ data: null, error: null, loading: true });
    load();
  }, [load]);
  useEffect(() => onResync(load), [load]);
  const more = useCallback(() => {
    shown.current = (state.data?.agents.length ?? 0) + PAGE;
    return load();
  }, [load, state.data]);
  return { ...state, reload: load, more };
}

function ShowMore({ roster }) {
  const { agents, total } = roster.data;
  const next = Math.min(PAGE, total - agents.length);
  return html`<div class="show-more">
    <button type="button" onClick=${roster.more} disabled=${roster.loading}
      aria-describedby="roster-shown">${roster.loading ? "Loading…" : `Show ${next} more`}</button>
    <span id="roster-shown" class="muted small">${agents.length} of ${total} agents shown</span>
  </div>`;
}

export function AgentsView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const state = query.get("state");
  const span = query.get("window") || "24h";
  const hours = LANE_HOURS.includes(Number(query.get("hours"))) ? Number(query.get("hours")) : 6;
  const roster = useRoster({ window: span, tz: browserZone(), ...(state ? { state } : {}) });
  const timeline = useFetch(withQuery("/v1/agents/timeline", { hours }));
  const reload = () => {
    roster.reload();
    timeline.reload();
  };
  useLiveRefresh(EVERY_EVENT, reload, 2000);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [roster.reload, timeline.reload]);
  const lanes = new Map((timeline.data?.agents ?? []).map((lane) => [lane.agent_id, lane]));

  return html`<div class="view agents">
    <header class="view-head">
      <h1>Agents</h1>
      <label class="window-pick">heard from in the last
        <select value=${span} onChange=${(e) => setQuery({ window: e.currentTarget.value }, { replace: true })}>
          ${["1h", "6h", "24h", "7d"].map((w) => html`<option key=${w} value=${w}>${w}</option>`)}
        </select></label>
      <label class="window-pick lane-pick">timeline of the last
        <select value=${hours} onChange=${(e) => setQuery({ hours: e.currentTarget.value === "6" ? null : e.currentTarget.value }, { replace: true })}>
          ${LANE_HOURS.map((h) => html`<option key=${h} value=${h}>${h} h</option>`)}
        </select></label>
      <span class="lane-legend small muted" aria-hidden="true">
        <span class="lane-key lane-working"></span>working <span class="lane-key lane-waiting"></span>waiting for you
        <span class="lane-key lane-idle"></span>idle</span>
    </header>
    <${Loaded} state=${roster} what="Loading the agents">${(data) => {
      const anyAgent = Object.values(data.counts).some((count) => count > 0);
      return html`
        <${StateFilter} counts=${data.counts} selected=${state}
          onPick=${(value) => setQuery({ state: value }, { replace: true })} />
        ${data.agents.length === 0
          ? html`<${Empty}>${anyAgent
            ? "No agent is in this state now."
            : html`No agent has reported in this window. Agents appear here with their first event.<${SetupHint} />`}<//>`
          : html`<ol class="roster">${data.agents.map((a) => html`<${AgentCard} key=${a.agent_id} agent=${a} now=${now}
            lane=${lanes.get(a.agent_id)} timeline=${timeline.data} />`)}</ol>`}
        ${data.more && html`<${ShowMore} roster=${roster} />`}
        <p class="muted small">Today is the day in ${data.timezone} since ${formatDateTime(data.day_start)}.</p>`;
    }}<//>
  </div>`;
}
