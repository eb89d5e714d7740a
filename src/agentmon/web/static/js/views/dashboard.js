// Dashboard: who needs attention, today's numbers, activity over time, the live feed, top
// tools and the VMs. Everything refreshes on live events.
import { html, useEffect, useState } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import {
  costTitle, formatAgo, formatCompact, formatCost, formatCostOf, formatDateTime, formatDuration, formatInt, formatTime, oneLine,
  parseTs, plural, browserZone,
} from "../format.js";
import { useEventFeed } from "../feed.js";
import { Empty, ErrorNote, Loaded, SetupHint, StatusBadge, statusLabel } from "../components/status.js";
import { NotifyToggle, acknowledge } from "../attention.js";
import { SpendValue } from "../components/cost.js";
import { TimeChart } from "../components/chart.js";
import { EventRow } from "../components/events.js";
import { VmPill } from "../components/vm.js";
import { vmCardHref } from "./openclaw.js";

const RANGES = ["1h", "6h", "24h", "7d"];
const ATTENTION_PER_KIND = 6; // cards per kind; the rest are one click away
const WAITING_SHOWN = 9; // waiting agents get more room: each one is blocked on a person
const ATTENTION_POLL_MS = 30000; // stuck and lost agents send no event that would say so
const SESSION_EVENT = (e) => ev.session(e) !== null;
const VM_EVENT = (e) => ev.type(e) === "openclaw.snapshot";
const ANY_EVENT = () => true;

/** "permission_prompt" → "permission prompt". */
function reasonText(reason) {
  return reason ? reason.replace(/_/g, " ") : "";
}

const SINCE_WORDS = {
  stuck: "no event since",
  looping: "repeating one tool call since",
  lost: "its VM stopped reporting or runs no more, since",
  error: "failed",
};

function Since({ ts, now }) {
  return html`<time datetime=${ts} title=${formatDateTime(ts)}>${formatTime(ts)}</time> (${formatAgo(ts, now)})`;
}

/** The second line of an attention card: what the agent asks, or what went wrong since when. */
function AttentionDetail({ item, now }) {
  const s = item.session;
  const where = `${s.framework} · ${s.host || "—"}`;
  if (item.kind === "waiting") {
    return html`
      ${s.waiting_message && html`<span class="attention-question">${oneLine(s.waiting_message, 160)}</span>`}
      <span class="attention-why muted">${where}${s.waiting_reason ? ` · ${reasonText(s.waiting_reason)}` : ""}${" · "}waiting since <${Since} ts=${item.since} now=${now} /></span>`;
  }
  const errors = item.kind === "error" && s.error_count ? ` · ${plural(s.error_count, "error")}` : "";
  const since = item.kind === "stuck" ? s.last_event_at : item.since;
  return html`<span class="attention-why muted">${where}${errors} · ${SINCE_WORDS[item.kind]} <${Since} ts=${since} now=${now} /></span>`;
}

function AckLine({ item, now, onChange }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  const act = async (reopen) => {
    setBusy(true);
    setProblem("");
    try {
      await acknowledge(item.kind, item.id, { reopen });
      onChange();
    } catch (error) {
      setProblem(error.message);
    } finally {
      setBusy(false);
    }
  };
  const ack = item.acknowledged;
  return html`<span class="ack-line">
    ${ack ? html`<span class="muted small">acknowledged by ${ack.by} ${formatAgo(ack.at, now)}</span>
        <button type="button" class="link-button" disabled=${busy} onClick=${() => act(true)}>Reopen</button>`
      : html`<button type="button" class="ack-button" disabled=${busy} onClick=${() => act(false)}
          title="Mark as seen for everyone; it comes back if this happens again">Acknowledge</button>`}
    ${problem && html`<span class="bad-text small" role="alert">${problem}</span>`}
  </span>`;
}

function AttentionCard({ item, now, onChange }) {
  const s = item.session;
  return html`<li class=${item.acknowledged ? "acknowledged" : ""}>
    <${Link} class=${`attention-card status-${item.kind}`} href=${`/sessions/${encodeURIComponent(item.id)}`}>
      <span class="attention-line">
        <${StatusBadge} status=${item.kind} />
        <span class="attention-title">${oneLine(s.title || s.session_id, 70)}</span>
      </span>
      <${AttentionDetail} item=${item} now=${now} />
    <//>
    <${AckLine} item=${item} now=${now} onChange=${onChange} />
  </li>`;
}

function WindowPicker({ value, onChange }) {
  return html`<div class="segmented" role="group" aria-label="Attention window">
    ${RANGES.map((w) => html`<button type="button" key=${w} aria-pressed=${w === value}
      class=${w === value ? "active" : ""} onClick=${() => onChange(w)}>${w}</button>`)}
  </div>`;
}

/** One kind's cards: the open ones (and the acknowledged ones when asked), the rest a link. */
function AttentionGroup({ group, showAcked, now, onChange }) {
  const limit = group.kind === "waiting" ? WAITING_SHOWN : ATTENTION_PER_KIND;
  // open items fill the cards; acknowledged ones, when asked for, come after on their own cap
  const open = group.items.filter((i) => !i.acknowledged).slice(0, limit);
  const acked = showAcked ? group.items.filter((i) => i.acknowledged).slice(0, limit) : [];
  const shown = [...open, ...acked];
  const total = group.open + (showAcked ? group.acknowledged : 0);
  if (shown.length === 0) return null;
  return html`<div class=${`attention-group kind-${group.kind}`}>
    <h3 class="attention-kind">${statusLabel(group.kind)} <span class="muted">${total}</span>
      ${total > shown.length && html`<${Link} class="small" href=${`/sessions?status=${group.kind}`}>${total - shown.length} more<//>`}
    </h3>
    <ul class="attention-list">
      ${shown.map((item) => html`<${AttentionCard} key=${item.id} item=${item} now=${now} onChange=${onChange} />`)}
    </ul>
  </div>`;
}

/** What needs a person within the window, by kind, most urgent first; each can be acknowledged. */
function AttentionStrip({ now, window: span, setWindow }) {
  const [showAcked, setShowAcked] = useState(false);
  const found = useFetch(withQuery("/v1/attention", { window: span }));
  useLiveRefresh(SESSION_EVENT, found.reload, 1000);
  useEffect(() => {
    const timer = setInterval(found.reload, ATTENTION_POLL_MS);
    return () => clearInterval(timer);
  }, [found.reload]);
  if (!found.data) {
    return html`<section class="attention" aria-label="Agents needing attention">
      ${found.error ? html`<${ErrorNote} error=${found.error} onRetry=${found.reload} />`
        : html`<p class="note loading">Checking for agents that need attention…</p>`}
    </section>`;
  }
  const groups = found.data.groups;
  const open = groups.reduce((n, g) => n + g.open, 0);
  const acked = groups.reduce((n, g) => n + g.acknowledged, 0);
  const controls = html`<span class="attention-controls">
    <${WindowPicker} value=${span} onChange=${setWindow} />
    ${acked > 0 && html`<button type="button" class="toggle" aria-pressed=${showAcked}
      onClick=${() => setShowAcked(!showAcked)}>${showAcked ? "Hide" : "Show"} ${acked} acknowledged</button>`}
    <${NotifyToggle} />
  </span>`;
  if (open === 0 && !showAcked) {
    return html`<section class="attention clear" aria-label="Agents needing attention">
      <span class="dot ok" aria-hidden="true"></span>
      <span class="attention-clear-text">Nothing needs you: in the last ${span} no agent started waiting for a human,
        got stuck, looped, was lost or failed${acked ? " that nobody acknowledged" : ""}.</span>
      ${controls}
    </section>`;
  }
  return html`<section class="attention" aria-label="Agents needing attention">
    <header class="attention-head">
      <h2>Needs attention <span class="muted small">last ${span}</span></h2>
      ${groups.filter((g) => g.open > 0).map((g) => html`<${Link} key=${g.kind}
        class=${`count kind-${g.kind}`} href=${`/sessions?status=${g.kind}`}>${g.open} ${statusLabel(g.kind)}<//>`)}
      ${controls}
    </header>
    ${groups.map((g) => html`<${AttentionGroup} key=${g.kind} group=${g} showAcked=${showAcked} now=${now} onChange=${found.reload} />`)}
  </section>`;
}

/** "Today (Europe/Paris)": the summary's day, named with the zone the API counted it in (the
 * browser's own, sent as `tz`). */
function todayLabel(summary) {
  return `Today (${summary.timezone || "UTC"})`;
}

function dayStartText(summary) {
  const ms = parseTs(summary.day_start);
  if (ms === null) return "";
  const zone = summary.timezone || "UTC";
  const options = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  const there = new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone }).format(ms);
  const here = new Intl.DateTimeFormat(undefined, options).format(ms);
  return there === here ? `since ${there} ${zone}` : `since ${there} ${zone} (${here} your time)`;
}

function StatCard({ label, value, sub, tone, href }) {
  const body = html`<span class="stat-label">${label}</span>
    <span class="stat-value">${value}</span>
    <span class="stat-sub muted">${sub}</span>`;
  const cls = `stat-card ${tone || ""}`;
  return href ? html`<${Link} class=${`${cls} stat-link`} href=${href}>${body}<//>` : html`<div class=${cls}>${body}</div>`;
}

function StatCards({ summary }) {
  const today = { from: summary.day_start };
  const working = Math.max(0, (summary.active_sessions ?? 0) - (summary.waiting_sessions ?? 0));
  return html`<section class="today" aria-label=${todayLabel(summary)}>
    <h2 class="section-label">${todayLabel(summary)} <span class="muted small">${dayStartText(summary)}</span></h2>
    <div class="stat-cards">
      <div class="stat-card">
        <span class="stat-label">Active now</span>
        <span class="stat-value">${formatInt(summary.active_sessions)}</span>
        <span class="stat-sub muted">
          <${Link} href="/sessions?status=active">${working} working<//>${" · "}
          <${Link} class=${summary.waiting_sessions ? "warn-text" : ""} href="/sessions?status=waiting">${summary.waiting_sessions} waiting for a human<//>
        </span>
      </div>
      <${StatCard} label="Sessions" value=${formatInt(summary.sessions)} sub=${plural(summary.events, "event")}
        href=${withQuery("/sessions", today)} />
      <${StatCard} label="Runs" value=${formatInt(summary.runs)} sub="user turns" />
      <${StatCard} label="Tool calls" value=${formatInt(summary.tool_calls)} sub="" />
      <${StatCard} label="Errors" value=${formatInt(summary.errors)} tone=${summary.errors > 0 ? "bad" : ""}
        sub=${summary.errors > 0 ? "see the failed sessions" : "none"}
        href=${summary.errors > 0 ? withQuery("/sessions", { status: "error", ...today }) : null} />
      <${StatCard} label="Tokens" value=${formatCompact(summary.tokens?.total ?? 0)}
        sub=${`${formatCompact(summary.tokens?.input ?? 0)} in · ${formatCompact(summary.tokens?.output ?? 0)} out`}
        href=${withQuery("/costs", today)} />
      <${StatCard} label="Cost" value=${html`<${SpendValue} of=${summary} />`}
        sub=${costTitle(summary.cost_source) ?? "no model calls today"} href=${withQuery("/costs", today)} />
    </div>
  </section>`;
}

function FrameworkBars({ summary }) {
  const rows = Object.entries(summary.by_framework || {}).sort((a, b) => b[1].events - a[1].events);
  if (rows.length === 0) return html`<${Empty}>No events today yet.<//>`;
  const top = Math.max(...rows.map(([, f]) => f.events), 1);
  return html`<ul class="bars">
    ${rows.map(([name, f]) => {
      const list = (extra) => withQuery("/sessions", { framework: name, ...extra });
      return html`<li key=${name}>
        <${Link} class="bar-label" href=${list({ from: summary.day_start })}>${name}<//>
        <span class="bar-track"><span class="bar-fill" style=${{ width: `${(f.events / top) * 100}%` }}></span></span>
        <span class="bar-value">${plural(f.events, "event")}</span>
        <span class="bar-detail muted">
          <${Link} href=${list({ from: summary.day_start })}>${plural(f.sessions, "session")}<//>${" · "}
          <${Link} href=${list({ status: "active" })}>${f.active_sessions} active<//>${" · "}
          ${plural(f.runs, "run")} · ${plural(f.tool_calls, "tool call")}${f.errors
            ? html`${" · "}<${Link} class="bad-text" href=${list({ status: "error", from: summary.day_start })}>${plural(f.errors, "error")}<//>`
            : ""} · ${formatCostOf(f.cost_usd, f.cost_source)}
        </span>
      </li>`;
    })}
  </ul>`;
}

// Errors get a panel of their own under the activity chart: a handful of errors would
// otherwise lie flat under hundreds of events on one linear axis.
const CHARTS = {
  activity: {
    label: "Activity",
    series: [
      { key: "events", label: "events", color: "--c1" },
      { key: "tool_calls", label: "tool calls", color: "--c2" },
      { key: "runs", label: "runs", color: "--c3" },
    ],
    below: [{ key: "errors", label: "errors", color: "--bad", fill: "--bad-soft" }],
  },
  usage: {
    label: "Tokens & cost",
    series: [
      { key: "tokens", label: "tokens", color: "--c1", format: formatCompact },
      { key: "cost_usd", label: "cost", color: "--c3", scale: "usd", format: formatCost },
    ],
    below: [],
  },
};

/** The buckets that are over, and the current one (still filling) apart, or null. */
function splitPartial(data, at) {
  const last = data.points[data.points.length - 1];
  const end = last ? (parseTs(last.ts) ?? 0) + data.bucket_seconds * 1000 : 0;
  return end > at ? { done: data.points.slice(0, -1), partial: last } : { done: data.points, partial: null };
}

function PartialNote({ partial, series, bucket }) {
  if (!partial) return null;
  const sofar = series.map((s) => `${s.label} ${(s.format || formatInt)(partial[s.key] ?? 0)}`).join(", ");
  return html`<p class="muted small partial-note">The current ${bucket} (since ${formatTime(partial.ts)}) is still
    filling and not drawn; so far: ${sofar}.</p>`;
}

function Activity({ range, setRange, chart, setChart, timeseries }) {
  const { series, below } = CHARTS[chart];
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
    <${Loaded} state=${timeseries} what="Loading activity">${(data) => {
      const bucket = formatDuration(data.bucket_seconds * 1000);
      const { done, partial } = splitPartial(data, timeseries.at ?? Date.now());
      const shown = [...series, ...below];
      if (data.points.every((p) => shown.every((s) => !p[s.key]))) {
        return html`<${Empty}>Nothing in the last ${data.window}: no ${shown.map((s) => s.label).join(", ")} yet.<//>`;
      }
      return html`
        <${TimeChart} points=${done} series=${series}
          label=${`${CHARTS[chart].label} per ${bucket}, last ${data.window}`} />
        ${below.length > 0 && html`<div class="chart-below"><${TimeChart} points=${done} series=${below} height=${110}
          label=${`Errors per ${bucket}, last ${data.window}`} /></div>`}
        <p class="muted small">One point per ${bucket}.${chart === "usage"
          ? " Tokens as the agents report them; cost as reported, or estimated from model prices." : " Errors on their own scale, below."}</p>
        <${PartialNote} partial=${partial} series=${[...series, ...below]} bucket=${bucket} />`;
    }}<//>
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
      : feed.events.length === 0 ? html`<${Empty}>No events yet: they show up here as they happen.<${SetupHint} /><//>`
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
          <thead><tr><th>tool</th><th class="num">calls</th><th class="num">errors</th>
            <th class="num" title="median latency of its latest calls">p50</th>
            <th class="num" title="95th percentile latency of its latest calls">p95</th></tr></thead>
          <tbody>${data.tools.map((t) => html`<tr key=${t.name}>
            <td><${Link} href=${withQuery("/sessions", { tool: t.name })} title=${`Sessions that called ${t.name}`}>${t.name}<//></td><td class="num">${formatInt(t.calls)}</td>
            <td class=${`num ${t.errors ? "bad-text" : ""}`}>${formatInt(t.errors)}</td>
            <td class="num" title=${t.avg_ms === null ? null : `mean ${formatDuration(t.avg_ms)}`}>${formatDuration(t.p50_ms)}</td>
            <td class="num">${formatDuration(t.p95_ms)}</td></tr>`)}</tbody>
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
      : data.instances.map((i) => html`<${VmPill} key=${i.name} instance=${i} href=${vmCardHref(i.name)} />`)}<//>
  </section>`;
}

export function DashboardView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const range = RANGES.includes(query.get("range")) ? query.get("range") : "24h";
  const chart = Object.hasOwn(CHARTS, query.get("chart") ?? "") ? query.get("chart") : "activity";
  const summary = useFetch(withQuery("/v1/stats/summary", { tz: browserZone() }));
  const timeseries = useFetch(withQuery("/v1/stats/timeseries", { window: range }));
  const tools = useFetch(withQuery("/v1/stats/tools", { window: range, limit: 10 }));
  useLiveRefresh(ANY_EVENT, () => {
    summary.reload();
    timeseries.reload();
    tools.reload();
  }, 1500);
  const attentionWindow = RANGES.includes(query.get("attention")) ? query.get("attention") : "24h";
  const setAttentionWindow = (w) => setQuery({ attention: w === "24h" ? null : w }, { replace: true });
  const setRange = (w) => setQuery({ range: w === "24h" ? null : w }, { replace: true });
  const setChart = (c) => setQuery({ chart: c === "activity" ? null : c }, { replace: true });

  return html`<div class="view dashboard">
    <${AttentionStrip} now=${now} window=${attentionWindow} setWindow=${setAttentionWindow} />
    <${VmStrip} />
    <${Loaded} state=${summary} what="Loading today's numbers">${(data) => html`<${StatCards} summary=${data} />`}<//>
    <div class="grid-2">
      <${Activity} range=${range} setRange=${setRange} chart=${chart} setChart=${setChart}
        timeseries=${timeseries} />
      <section class="panel">
        <${Loaded} state=${summary} what="Loading">${(data) => html`
          <header class="panel-head"><h2>By framework <span class="muted small">today (${data.timezone || "UTC"})</span></h2></header>
          <${FrameworkBars} summary=${data} />`}<//>
      </section>
    </div>
    <div class="grid-2">
      <${LiveFeed} now=${now} />
      <${TopTools} range=${range} tools=${tools} />
    </div>
  </div>`;
}
