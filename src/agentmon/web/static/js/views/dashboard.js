// Dashboard: who needs attention, today's numbers, activity over time, the live feed, top
// tools and the VMs. Everything refreshes on live events.
import { html } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import {
  formatAgo, formatCompact, formatCost, formatDuration, formatInt, oneLine, plural,
} from "../format.js";
import { useEventFeed } from "../feed.js";
import { Empty, ErrorNote, Loaded, StatusBadge } from "../components/status.js";
import { TimeChart } from "../components/chart.js";
import { EventRow } from "../components/events.js";
import { VmPill } from "../components/vm.js";

const RANGES = ["1h", "6h", "24h", "7d"];
const ATTENTION_LIMIT = 20; // fetched per status
const ATTENTION_SHOWN = 6; // cards shown, more only when more wait for a human
const SESSION_EVENT = (e) => ev.session(e) !== null;
const VM_EVENT = (e) => ev.type(e) === "openclaw.snapshot";
const ANY_EVENT = () => true;

/** The sessions that need someone: every one waiting for a human, then the latest failures. */
function AttentionStrip({ now }) {
  const waiting = useFetch(withQuery("/v1/sessions", { status: "waiting", limit: ATTENTION_LIMIT }));
  const failing = useFetch(withQuery("/v1/sessions", { status: "error", limit: ATTENTION_LIMIT }));
  useLiveRefresh(SESSION_EVENT, () => {
    waiting.reload();
    failing.reload();
  });
  const error = waiting.error || failing.error;
  if (!waiting.data || !failing.data) {
    return html`<section class="attention" aria-label="Agents needing attention">
      ${error ? html`<${ErrorNote} error=${error} onRetry=${() => { waiting.reload(); failing.reload(); }} />`
        : html`<p class="note loading">Checking for agents that need attention…</p>`}
    </section>`;
  }
  const byRecent = (a, b) => (a.last_event_at < b.last_event_at ? 1 : -1);
  const waits = [...waiting.data.sessions].sort(byRecent);
  const fails = [...failing.data.sessions].sort(byRecent);
  if (waits.length + fails.length === 0) {
    return html`<section class="attention clear" aria-label="Agents needing attention">
      <span class="dot ok" aria-hidden="true"></span>
      No agent is waiting for a human and none has failed.
    </section>`;
  }
  const shown = [...waits, ...fails].slice(0, Math.max(ATTENTION_SHOWN, waits.length));
  const more = (list, status, label) => {
    const hidden = list.filter((s) => !shown.includes(s)).length;
    const total = list.length >= ATTENTION_LIMIT ? `${hidden}+` : hidden;
    return hidden > 0
      ? html`<${Link} href=${`/sessions?status=${status}`}>${total} more ${label}<//>`
      : null;
  };
  return html`<section class="attention" aria-label="Agents needing attention">
    <header class="attention-head">
      <h2>Needs attention</h2>
      ${waits.length > 0 && html`<span class="count">${waits.length} waiting for a human</span>`}
      ${fails.length > 0 && html`<span class="count bad">${fails.length >= ATTENTION_LIMIT ? `${fails.length}+` : fails.length} failed</span>`}
      <span class="attention-more">${more(fails, "error", "failed sessions")}</span>
    </header>
    <ul class="attention-list">
      ${shown.map((s) => html`<li key=${s.session_id}>
        <${Link} class=${`attention-card status-${s.status}`} href=${`/sessions/${encodeURIComponent(s.session_id)}`}>
          <span class="attention-line">
            <${StatusBadge} status=${s.status} />
            <span class="attention-title">${oneLine(s.title || s.session_id, 70)}</span>
          </span>
          <span class="attention-why muted">${s.framework} · ${s.host || "—"} · ${s.status === "waiting"
            ? `${s.waiting_reason || "waiting"} since ${formatAgo(s.last_event_at, now)}`
            : `${plural(s.error_count, "error")} · ${formatAgo(s.last_event_at, now)}`}</span>
        <//>
      </li>`)}
    </ul>
  </section>`;
}

function StatCards({ summary }) {
  const cards = [
    ["Active sessions", formatInt(summary.active_sessions),
      summary.waiting_sessions ? `${summary.waiting_sessions} waiting for a human` : "none waiting"],
    ["Sessions today", formatInt(summary.sessions), plural(summary.events, "event")],
    ["Runs today", formatInt(summary.runs), ""],
    ["Tool calls today", formatInt(summary.tool_calls), ""],
    ["Errors today", formatInt(summary.errors), "", summary.errors > 0 ? "bad" : ""],
    ["Tokens today", formatCompact(summary.tokens?.total ?? 0),
      `${formatCompact(summary.tokens?.input ?? 0)} in · ${formatCompact(summary.tokens?.output ?? 0)} out`],
    ["Cost today", formatCost(summary.cost_usd), "from reported usage"],
  ];
  return html`<section class="stat-cards" aria-label="Today">
    ${cards.map(([label, value, sub, tone]) => html`<div class=${`stat-card ${tone || ""}`} key=${label}>
      <span class="stat-label">${label}</span>
      <span class="stat-value">${value}</span>
      <span class="stat-sub muted">${sub}</span>
    </div>`)}
  </section>`;
}

function FrameworkBars({ summary }) {
  const rows = Object.entries(summary.by_framework || {}).sort((a, b) => b[1].events - a[1].events);
  if (rows.length === 0) return html`<${Empty}>No events today yet.<//>`;
  const top = Math.max(...rows.map(([, f]) => f.events), 1);
  return html`<ul class="bars">
    ${rows.map(([name, f]) => html`<li key=${name}>
      <span class="bar-label">${name}</span>
      <span class="bar-track"><span class="bar-fill" style=${{ width: `${(f.events / top) * 100}%` }}></span></span>
      <span class="bar-value">${plural(f.events, "event")}</span>
      <span class="bar-detail muted">${plural(f.sessions, "session")} · ${f.active_sessions} active · ${plural(f.runs, "run")} · ${plural(f.tool_calls, "tool call")}${f.errors ? ` · ${plural(f.errors, "error")}` : ""} · ${formatCost(f.cost_usd)}</span>
    </li>`)}
  </ul>`;
}

const CHARTS = {
  activity: {
    label: "Activity",
    series: [
      { key: "events", label: "events", color: "--c1" },
      { key: "tool_calls", label: "tool calls", color: "--c2" },
      { key: "runs", label: "runs", color: "--c3" },
      { key: "errors", label: "errors", color: "--bad" },
    ],
  },
  usage: {
    label: "Tokens & cost",
    series: [
      { key: "tokens", label: "tokens", color: "--c1", format: formatCompact },
      { key: "cost_usd", label: "cost", color: "--c3", scale: "usd", format: formatCost },
    ],
  },
};

function Activity({ range, setRange, chart, setChart, timeseries }) {
  const { series } = CHARTS[chart];
  return html`<section class="panel activity">
    <header class="panel-head">
      <div class="segmented" role="group" aria-label="Chart">
        ${Object.entries(CHARTS).map(([name, c]) => html`<button type="button" key=${name}
          aria-pressed=${name === chart} class=${name === chart ? "active" : ""}
          onClick=${() => setChart(name)}>${c.label}</button>`)}
      </div>
      <div class="segmented" role="group" aria-label="Time window">
        ${RANGES.map((w) => html`<button type="button" key=${w} aria-pressed=${w === range}
          class=${w === range ? "active" : ""} onClick=${() => setRange(w)}>${w}</button>`)}
      </div>
    </header>
    <${Loaded} state=${timeseries} what="Loading activity">${(data) => html`
      <${TimeChart} points=${data.points} series=${series}
        label=${`${CHARTS[chart].label} per ${formatDuration(data.bucket_seconds * 1000)}, last ${data.window}`} />
      <p class="muted small">One point per ${formatDuration(data.bucket_seconds * 1000)}.${chart === "usage"
        ? " Tokens and cost as reported by the agents' usage metrics." : ""}</p>`}<//>
  </section>`;
}

function LiveFeed({ now }) {
  const initial = useFetch(withQuery("/v1/events", { limit: 50 }));
  const feed = useEventFeed(initial.data?.events ?? null, ANY_EVENT, 100);
  return html`<section class="panel feed-panel">
    <header class="panel-head">
      <h2>Live activity</h2>
      <button type="button" class=${`toggle ${feed.paused ? "paused" : ""}`} aria-pressed=${feed.paused}
          onClick=${() => feed.setPaused(!feed.paused)}>
        ${feed.paused ? `Resume${feed.pending ? ` (${feed.pending} new)` : ""}` : "Pause"}
      </button>
    </header>
    ${initial.error && !initial.data ? html`<${ErrorNote} error=${initial.error} onRetry=${initial.reload} />`
      : !initial.data ? html`<p class="note loading">Loading events…</p>`
      : feed.events.length === 0 ? html`<${Empty}>No events yet. Point an agent's hooks at the ingest gateway and they show up here as they happen.<//>`
      : html`<ol class="feed" aria-live="off">
          ${feed.events.map((e) => html`<${EventRow} key=${ev.id(e)} event=${e} now=${now} />`)}
        </ol>`}
  </section>`;
}

function TopTools({ range, tools }) {
  return html`<section class="panel">
    <header class="panel-head"><h2>Top tools <span class="muted small">last ${range}</span></h2></header>
    <${Loaded} state=${tools} what="Loading tools">${(data) => data.tools.length === 0
      ? html`<${Empty}>No tool calls in the last ${range}.<//>`
      : html`<table class="table compact">
          <thead><tr><th>tool</th><th class="num">calls</th><th class="num">errors</th><th class="num">avg</th></tr></thead>
          <tbody>${data.tools.map((t) => html`<tr key=${t.name}>
            <td>${t.name}</td><td class="num">${formatInt(t.calls)}</td>
            <td class=${`num ${t.errors ? "bad-text" : ""}`}>${formatInt(t.errors)}</td>
            <td class="num">${formatDuration(t.avg_ms)}</td></tr>`)}</tbody>
        </table>`}<//>
  </section>`;
}

function VmStrip() {
  const instances = useFetch("/v1/openclaw/instances");
  useLiveRefresh(VM_EVENT, instances.reload, 2000);
  return html`<section class="vm-strip" aria-label="OpenClaw VMs">
    <span class="strip-label">VMs</span>
    <${Loaded} state=${instances} what="Loading VMs">${(data) => data.instances.length === 0
      ? html`<span class="muted">No OpenClaw VM reports yet (<${Link} href="/openclaw">how to set up<//>).</span>`
      : data.instances.map((i) => html`<${VmPill} key=${i.name} instance=${i} />`)}<//>
  </section>`;
}

export function DashboardView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const range = RANGES.includes(query.get("range")) ? query.get("range") : "24h";
  const chart = Object.hasOwn(CHARTS, query.get("chart") ?? "") ? query.get("chart") : "activity";
  const summary = useFetch("/v1/stats/summary");
  const timeseries = useFetch(withQuery("/v1/stats/timeseries", { window: range }));
  const tools = useFetch(withQuery("/v1/stats/tools", { window: range, limit: 10 }));
  useLiveRefresh(ANY_EVENT, () => {
    summary.reload();
    timeseries.reload();
    tools.reload();
  }, 1500);
  const setRange = (w) => setQuery({ range: w === "24h" ? null : w }, { replace: true });
  const setChart = (c) => setQuery({ chart: c === "activity" ? null : c }, { replace: true });

  return html`<div class="view dashboard">
    <${AttentionStrip} now=${now} />
    <${VmStrip} />
    <${Loaded} state=${summary} what="Loading today's numbers">${(data) => html`<${StatCards} summary=${data} />`}<//>
    <div class="grid-2">
      <${Activity} range=${range} setRange=${setRange} chart=${chart} setChart=${setChart}
        timeseries=${timeseries} />
      <section class="panel">
        <header class="panel-head"><h2>By framework <span class="muted small">today</span></h2></header>
        <${Loaded} state=${summary} what="Loading">${(data) => html`<${FrameworkBars} summary=${data} />`}<//>
      </section>
    </div>
    <div class="grid-2">
      <${LiveFeed} now=${now} />
      <${TopTools} range=${range} tools=${tools} />
    </div>
  </div>`;
}
