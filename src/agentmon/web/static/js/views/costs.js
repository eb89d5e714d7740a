// Costs: what the model calls cost over a range (last 24 h, 7 days, 30 days or a custom
// one): spend and tokens per hour or day in two panels (never one line for both), by model,
// agent, project and framework, the sessions that cost the most, and the budgets. A cost
// nobody reported and no price covers reads "not priced" with its tokens, never "$0".
import { html } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import {
  costTitle, formatCompact, formatCost, formatDateTime, formatInt, formatShortDateTime,
  isoToLocalInput, localInputToIso, parseTs, plural,
} from "../format.js";
import { Empty, Loaded } from "../components/status.js";
import { Cost, SpendValue } from "../components/cost.js";

const RANGES = ["24h", "7d", "30d"];
const MODEL_CALL = (e) => ev.type(e) === "metric.snapshot";

/** The range the URL asks for: a preset, or a custom from/to. */
function useCostRange() {
  const [query, setQuery] = useQueryParams();
  const from = query.get("from") || "";
  const to = query.get("to") || "";
  const custom = Boolean(from);
  const range = RANGES.includes(query.get("range")) ? query.get("range") : "7d";
  return { from, to, custom, range, setQuery };
}

function RangePicker({ picked }) {
  const { from, to, custom, range, setQuery } = picked;
  const setPreset = (value) => setQuery({ range: value, from: null, to: null }, { replace: true });
  const setCustom = (key) => (event) => {
    const iso = localInputToIso(event.currentTarget.value);
    const other = key === "from" ? to : from;
    const fallback = new Date(Date.now() - (key === "to" ? 7 * 86400000 : 0)).toISOString();
    setQuery({ range: null, [key]: iso || null, [key === "from" ? "to" : "from"]: other || fallback }, { replace: true });
  };
  return html`<div class="cost-range">
    <div class="segmented" role="group" aria-label="Range">
      ${RANGES.map((r) => html`<button type="button" key=${r} class=${!custom && range === r ? "active" : ""}
        aria-pressed=${!custom && range === r} onClick=${() => setPreset(r)}>${r}</button>`)}
    </div>
    <label class="small">from <input type="datetime-local" value=${isoToLocalInput(from)} onChange=${setCustom("from")} /></label>
    <label class="small">to <input type="datetime-local" value=${isoToLocalInput(to)} onChange=${setCustom("to")} /></label>
  </div>`;
}

/** Calls that were reported, estimated and not priced, as words. */
function callKinds(t) {
  const parts = [];
  if (t.reported_calls) parts.push(`${formatInt(t.reported_calls)} reported`);
  if (t.estimated_calls) parts.push(`${formatInt(t.estimated_calls)} estimated`);
  if (t.unpriced_calls) parts.push(`${formatInt(t.unpriced_calls)} not priced`);
  return parts.join(" · ");
}

function tokenText(tokens) {
  const cache = tokens.cache_read + tokens.cache_write;
  return `${formatCompact(tokens.input)} in · ${formatCompact(tokens.output)} out${cache ? ` · ${formatCompact(cache)} cache (not in the total)` : ""}`;
}

/** The tokens total (input + output, as the API sums it) and, apart, the cache tokens. */
function TokensCard({ tokens }) {
  const cache = tokens.cache_read + tokens.cache_write;
  return html`<div class="stat-card">
    <span class="stat-label">Tokens <span class="stat-label-note">in + out</span></span>
    <span class="stat-value">${formatCompact(tokens.total)}</span>
    <span class="stat-sub muted">${formatCompact(tokens.input)} in + ${formatCompact(tokens.output)} out</span>
    ${cache > 0 && html`<span class="stat-sub muted cost-cache-tokens">
      cache, not in the total: ${formatCompact(tokens.cache_read)} read · ${formatCompact(tokens.cache_write)} written</span>`}
  </div>`;
}

function Totals({ data, sessionsHref }) {
  const t = data.total;
  return html`<div class="stat-cards">
    <div class="stat-card">
      <span class="stat-label">Spend</span>
      <span class="stat-value"><${SpendValue} of=${t} /></span>
      <span class="stat-sub muted">${costTitle(t.cost_source) ?? "no model calls in this range"}</span>
    </div>
    <${TokensCard} tokens=${t.tokens} />
    <div class="stat-card">
      <span class="stat-label">Model calls</span>
      <span class="stat-value">${formatInt(t.calls)}</span>
      <span class=${`stat-sub ${t.unpriced_calls ? "warn-text" : "muted"}`}>${callKinds(t) || "none"}</span>
    </div>
    <${Link} class="stat-card stat-link" href=${sessionsHref}>
      <span class="stat-label">Sessions</span>
      <span class="stat-value">${formatInt(t.sessions)}</span>
      <span class="stat-sub">with model calls: list them</span>
    <//>
  </div>`;
}

const CHART_W = 720;
const CHART_H = 140;

function bucketLabel(point, bucket) {
  const ms = parseTs(point.ts);
  const options = bucket === "day"
    ? { month: "short", day: "numeric", timeZone: "UTC" }
    : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" };
  return `${new Intl.DateTimeFormat(undefined, options).format(ms)} UTC`;
}

/** Bars over the series: `parts(point)` → [{value, cls}] stacked bottom up; `defs`: what
 * the bars' classes fill with (SVG patterns). */
function BarChart({ data, parts, format, label, legend, marks, defs }) {
  const points = data.series;
  const top = Math.max(...points.map((p) => parts(p).reduce((n, part) => n + part.value, 0)), 0);
  const width = CHART_W / Math.max(points.length, 1);
  const gap = width > 6 ? width * 0.18 : 0;
  const first = points[0];
  const last = points[points.length - 1];
  return html`<figure class="cost-chart">
    <figcaption class="cost-chart-head">
      <span class="cost-chart-title">${label}</span>
      <span class="muted small">peak ${top > 0 ? format(top) : "—"} per ${data.bucket}</span>
      <span class="cost-legend small">${legend.map((l) => html`<span key=${l.cls}><i class=${`swatch ${l.cls}`}></i>${l.text}</span>`)}</span>
    </figcaption>
    <svg viewBox=${`0 0 ${CHART_W} ${CHART_H}`} preserveAspectRatio="none" role="img" aria-label=${label}>
      ${defs}
      <line class="cost-axis" x1="0" x2=${CHART_W} y1=${CHART_H - 0.5} y2=${CHART_H - 0.5} />
      ${points.map((p, i) => {
        let y = CHART_H;
        const stack = parts(p).filter((part) => part.value > 0);
        const title = `${bucketLabel(p, data.bucket)}: ${stack.length ? stack.map((part) => `${part.name} ${format(part.value)}`).join(", ") : "no model calls"}`;
        return html`<g key=${p.ts}><title>${title}${marks && marks(p) ? `; ${marks(p)}` : ""}</title>
          <rect class="cost-hit" x=${i * width} y="0" width=${width} height=${CHART_H} />
          ${stack.map((part) => {
            const h = top > 0 ? (part.value / top) * (CHART_H - 8) : 0;
            y -= h;
            return html`<rect class=${part.cls} x=${i * width + gap / 2} y=${y} width=${Math.max(width - gap, 0.5)} height=${Math.max(h, 1)} />`;
          })}
          ${marks && marks(p) && html`<rect class="bar-unpriced" x=${i * width + gap / 2} y=${CHART_H - 4} width=${Math.max(width - gap, 1)} height="4" />`}
        </g>`;
      })}
    </svg>
    <div class="cost-chart-axis muted small">
      <span>${first && bucketLabel(first, data.bucket)}</span><span>${last && bucketLabel(last, data.bucket)}</span>
    </div>
  </figure>`;
}

// A bucket's cost is one sum (the store keeps no reported/estimated split of it), so a bucket
// with both kinds of call is one bar marked as both: stripes of the two colours. (Its
// cost_source "mixed" may also mean priced calls beside unpriced ones: the counts tell.)
const COST_KINDS = {
  reported: { name: "cost", cls: "bar-reported" },
  estimated: { name: "≈ cost", cls: "bar-estimated" },
  both: { name: "≈ cost, part reported, part estimated", cls: "bar-mixed" },
};
const costKind = (p) => (p.estimated_calls ? (p.reported_calls ? "both" : "estimated") : "reported");
const COST_PARTS = (p) => [{ ...COST_KINDS[costKind(p)], value: p.cost_usd ?? 0 }];
const MIXED_STRIPES = html`<defs>
  <pattern id="cost-mixed-stripes" class="bar-mixed-stripes" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)">
    <rect class="bar-reported" width="4" height="8" /><rect class="bar-estimated" x="4" width="4" height="8" />
  </pattern>
</defs>`;
const TOKEN_PARTS = (p) => [
  { name: "input", value: p.tokens.input, cls: "bar-input" },
  { name: "output", value: p.tokens.output, cls: "bar-output" },
  { name: "cache", value: p.tokens.cache_read + p.tokens.cache_write, cls: "bar-cache" },
];
const UNPRICED = (p) => (p.unpriced_calls ? `${plural(p.unpriced_calls, "call")} not priced (${formatCompact(p.tokens.total)} tokens)` : "");

function SpendCharts({ data }) {
  return html`<section class="panel" aria-label="Spend over time">
    <div class="panel-head"><h2>Spend per ${data.bucket} <span class="muted small">(UTC)</span></h2></div>
    <${BarChart} data=${data} parts=${COST_PARTS} format=${formatCost} label="Cost" marks=${UNPRICED} defs=${MIXED_STRIPES}
      legend=${[{ cls: "bar-reported", text: "reported" }, { cls: "bar-estimated", text: "estimated" },
        { cls: "bar-mixed", text: "reported + estimated" }, { cls: "bar-unpriced", text: "calls not priced" }]} />
    <${BarChart} data=${data} parts=${TOKEN_PARTS} format=${formatCompact} label="Tokens"
      legend=${[{ cls: "bar-input", text: "input" }, { cls: "bar-output", text: "output" }, { cls: "bar-cache", text: "cache" }]} />
  </section>`;
}

/** A breakdown table: `name(row)` is the first cell (a link where a list exists). */
function Breakdown({ title, rows, name, what, empty }) {
  return html`<section class="panel cost-breakdown" aria-label=${title}>
    <div class="panel-head"><h2>${title}</h2></div>
    ${rows.length === 0 ? html`<p class="muted small">${empty}</p>` : html`<div class="table-scroll">
      <table class="table compact">
        <thead><tr><th>${what}</th><th class="num">calls</th><th class="num">tokens</th><th class="num">cost</th></tr></thead>
        <tbody>${rows.map((row, i) => html`<tr key=${i}>
          <td class="cost-name">${name(row)}</td>
          <td class="num">${formatInt(row.calls)}</td>
          <td class="num" title=${tokenText(row.tokens)}>${formatCompact(row.tokens.total)}</td>
          <td class="num"><${Cost} of=${row} /></td>
        </tr>`)}</tbody>
      </table></div>`}
  </section>`;
}

/** The other names the calls gave the same model (grouped as the pricing path matches them). */
function ModelAliases(row) {
  const others = (row.names ?? []).filter((name) => name !== row.model);
  if (others.length === 0) return null;
  return html`<span class="cost-aliases muted small">also named ${others.map((name, i) => html`${i ? ", " : ""}<span class="mono">${name || "(none)"}</span>`)}</span>`;
}

function TopSessions({ sessions }) {
  if (sessions.length === 0) return null;
  return html`<section class="panel" aria-label="The sessions that cost the most">
    <div class="panel-head"><h2>Most expensive sessions</h2></div>
    <div class="table-scroll"><table class="table compact cost-sessions">
      <thead><tr><th>session</th><th>agent</th><th class="wide-only">project</th><th class="wide-only">started</th><th class="num">tokens</th><th class="num">cost</th></tr></thead>
      <tbody>${sessions.map((s) => html`<tr key=${s.session_id}>
        <td><${Link} href=${`/sessions/${encodeURIComponent(s.session_id)}`}>${s.title || s.session_id}<//></td>
        <td>${s.framework}${s.client_id || s.host ? ` · ${s.client_id || s.host}` : ""}</td>
        <td class="wide-only">${s.cwd ? html`<span class="mono small">${s.cwd}</span>` : html`<span class="muted">not reported</span>`}</td>
        <td class="wide-only" title=${formatDateTime(s.started_at)}>${formatShortDateTime(s.started_at)}</td>
        <td class="num" title=${tokenText(s.tokens)}>${formatCompact(s.tokens.total)}</td>
        <td class="num"><${Cost} of=${s} /></td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

const SCOPE_WORDS = { agent: "agent", project: "project", framework: "framework" };
const PERIOD_WORDS = { day: "today", month: "this month" };

/** Each budget: spent so far this period against its limit, and where the rate leads. */
function BudgetsPanel({ budgets }) {
  if (budgets.length === 0) {
    return html`<p class="muted small">No budgets yet: set daily or monthly limits per agent, project or
      framework in the file <span class="mono">AGENTMON_BUDGETS</span> names, or with${" "}
      <span class="mono">PUT /v1/budgets</span> (see docs/costs.md).</p>`;
  }
  return html`<section class="panel" aria-label="Budgets">
    <div class="panel-head"><h2>Budgets <span class="muted small">(current UTC day or month)</span></h2></div>
    <ul class="budget-list">${budgets.map((b) => {
      const pct = (usd) => `${Math.min(100, (usd / b.limit_usd) * 100)}%`;
      const state = b.state === "over" ? "over" : b.state === "warning" ? "warn" : "";
      return html`<li key=${b.budget_id} class=${state} data-budget=${b.budget_id}>
        <span class="bar-label" title=${b.budget_id}>${SCOPE_WORDS[b.scope]} <span class=${b.scope === "project" ? "mono" : ""}>${b.target}</span></span>
        <span class="budget-track" role="meter" aria-valuemin="0" aria-valuemax=${b.limit_usd} aria-valuenow=${b.spent_usd}
          aria-label=${`${b.budget_id}: ${formatCost(b.spent_usd)} of ${formatCost(b.limit_usd)}`}>
          <span class="budget-projected" style=${{ width: pct(b.projected_usd) }}></span>
          <span class="budget-spent" style=${{ width: pct(b.spent_usd) }}></span>
        </span>
        <span class="bar-value">${b.cost_source === "estimated" || b.cost_source === "mixed" ? "≈" : ""}${formatCost(b.spent_usd)} of ${formatCost(b.limit_usd)} ${PERIOD_WORDS[b.period]}</span>
        <span class="budget-detail muted small">
          ${b.state === "over" ? html`<span class="bad-text">over budget</span>` : `projected ${formatCost(b.projected_usd)} by the end of the ${b.period}`}
          ${b.state === "warning" ? html` · <span class="warn-text">heading over</span>` : ""}
          ${b.unpriced_calls ? html` · <span class="warn-text">${plural(b.unpriced_calls, "call")} not priced (not counted)</span>` : ""}
          ${b.source === "file" ? " · from AGENTMON_BUDGETS" : ""}
        </span>
      </li>`;
    })}</ul>
  </section>`;
}

function CostsBody({ data }) {
  const span = { from: data.from, to: data.to };
  const sessions = (extra) => withQuery("/sessions", { ...extra, ...span });
  if (data.total.calls === 0) {
    return html`<${Empty}>No model calls between ${formatDateTime(data.from)} and ${formatDateTime(data.to)}.
      Costs appear as agents report token usage (hooks, OpenTelemetry, or <span class="mono">agentmon import</span>).<//>
      <${BudgetsPanel} budgets=${data.budgets} />`;
  }
  return html`
    <${Totals} data=${data} sessionsHref=${sessions({})} />
    <${BudgetsPanel} budgets=${data.budgets} />
    <${SpendCharts} data=${data} />
    <div class="cost-grid">
      <${Breakdown} title="By agent" what="agent" rows=${data.by_agent} empty="No agent."
        name=${(a) => html`<${Link} href=${sessions({ framework: a.framework, host: a.client_id ? null : a.host })}>${a.agent_id}<//>`} />
      <${Breakdown} title="By model" what="model" rows=${data.by_model} empty="No model."
        name=${(m) => html`${m.model ? html`<${Link} href=${sessions({ model: m.names })}>${m.model}<//>` : html`<span class="muted">not named</span>`}${ModelAliases(m)}`} />
      <${Breakdown} title="By project" what="working directory" rows=${data.by_project} empty="No project."
        name=${(p) => (p.cwd ? html`<${Link} class="mono" href=${sessions({ project: p.cwd })}>${p.cwd}<//>` : html`<span class="muted">not reported</span>`)} />
      <${Breakdown} title="By framework" what="framework" rows=${data.by_framework} empty="No framework."
        name=${(f) => html`<${Link} href=${sessions({ framework: f.framework })}>${f.framework}<//>`} />
    </div>
    <${TopSessions} sessions=${data.top_sessions} />`;
}

export function CostsView() {
  const picked = useCostRange();
  const path = picked.custom
    ? withQuery("/v1/costs", { from: picked.from, to: picked.to || null })
    : withQuery("/v1/costs", { range: picked.range });
  const costs = useFetch(path);
  useLiveRefresh(MODEL_CALL, costs.reload, 5000);
  return html`<div class="view costs">
    <header class="view-head">
      <h1>Costs</h1>
      <${RangePicker} picked=${picked} />
    </header>
    <${Loaded} state=${costs} what="Loading the costs">${(data) => html`<${CostsBody} data=${data} />`}<//>
  </div>`;
}
