// A run's spans as a waterfall: a tree of spans (children under the span that called them:
// sub-agents, OTLP parents), each bar placed by its offset from the run start and sized by
// its duration. Running spans are open-ended. A subtree collapses; the selected span's detail
// opens directly under its row.
import { html, useState } from "../lib.js";
import { formatCompact, formatCostOf, formatDuration, parseTs } from "../format.js";
import { statusLabel } from "./status.js";

/** The layout of a run's spans: rows with left/width in percent of the run's extent. */
function layoutWaterfall(run, spans, now = Date.now()) {
  const ordered = spans
    .map((span, index) => ({ span, index, start: parseTs(span.started_at) }))
    .sort((a, b) => (a.start ?? Infinity) - (b.start ?? Infinity) || a.index - b.index);
  const starts = ordered.map((r) => r.start).filter((v) => v !== null);
  const runStart = parseTs(run.started_at) ?? (starts.length ? Math.min(...starts) : now);
  const ends = ordered.map(({ span, start }) => {
    if (span.status === "running" || !span.ended_at) return span.status === "running" ? now : start;
    return parseTs(span.ended_at);
  });
  const runEnded = parseTs(run.ended_at);
  const candidates = [runEnded ?? now, ...ends.filter((v) => v !== null)];
  if (run.status === "running") candidates.push(now);
  const runEnd = Math.max(runStart + 1, ...candidates);
  const total = runEnd - runStart;
  const rows = ordered.map(({ span, start }, i) => {
    const running = span.status === "running";
    const begin = start ?? runStart;
    const end = ends[i] ?? begin + (span.duration_ms ?? 0);
    const left = ((begin - runStart) / total) * 100;
    const width = Math.max(((Math.max(end, begin) - begin) / total) * 100, 0.4);
    return {
      span,
      running,
      offsetMs: begin - runStart,
      left: Math.min(Math.max(left, 0), 99.6),
      width: Math.min(width, 100 - Math.min(Math.max(left, 0), 99.6)),
    };
  });
  return { rows, total, runStart };
}

/**
 * The rows in tree order: each span followed by its children (by start), with its depth.
 * A span whose parent is not in this run is a root; a parent cycle is cut where it closes.
 */
export function treeOrder(rows) {
  const ids = new Set(rows.map((r) => r.span.span_id));
  const children = new Map();
  const roots = [];
  for (const row of rows) {
    const parent = row.span.parent_span_id;
    if (parent && ids.has(parent) && parent !== row.span.span_id) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(row);
    } else {
      roots.push(row);
    }
  }
  const out = [];
  const placed = new Set();
  const visit = (row, depth) => {
    if (placed.has(row.span.span_id)) return;
    placed.add(row.span.span_id);
    const kids = children.get(row.span.span_id) || [];
    out.push({ ...row, depth, childCount: kids.length });
    for (const kid of kids) visit(kid, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Spans only reachable through a cycle still show, at the top level.
  for (const row of rows) visit(row, 0);
  return out;
}

/** The rows left visible when the subtrees under `collapsed` span ids are folded. */
function visibleRows(ordered, collapsed) {
  const out = [];
  let hideBelow = null;
  for (const row of ordered) {
    if (hideBelow !== null && row.depth > hideBelow) continue;
    hideBelow = null;
    out.push(row);
    if (collapsed.has(row.span.span_id) && row.childCount > 0) hideBelow = row.depth;
  }
  return out;
}

const USAGE_KEYS = {
  input: ["input_tokens", "input", "prompt_tokens", "input_token_count"],
  output: ["output_tokens", "output", "completion_tokens", "output_token_count"],
  total: ["total_tokens", "total", "total_token_count"],
};

function firstNumber(object, keys) {
  for (const key of keys) {
    const value = object?.[key];
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return null;
}

/** Tokens and cost a span reports in its `usage` (or attributes, for cost), or null. */
export function spanUsage(span) {
  const usage = span.usage && typeof span.usage === "object" ? span.usage : {};
  // the server's reading of the usage (`tokens`: any tool's keys, cache counts too) first
  const counted = span.tokens ?? null;
  const input = counted ? counted.input : firstNumber(usage, USAGE_KEYS.input);
  const output = counted ? counted.output : firstNumber(usage, USAGE_KEYS.output);
  const cacheRead = counted ? counted.cache_read : null;
  const cacheWrite = counted ? counted.cache_write : null;
  const total = counted ? counted.total
    : firstNumber(usage, USAGE_KEYS.total) ?? (input !== null || output !== null ? (input ?? 0) + (output ?? 0) : null);
  // the server's price (reported or estimated) first; a span stored before it had none
  const cost = span.cost_usd ?? firstNumber(usage, ["cost_usd", "cost"]) ?? firstNumber(span.attributes, ["cost_usd", "gen_ai.usage.cost"]);
  const source = span.cost_source ?? (cost !== null ? "reported" : null);
  if (total === null && cost === null) return null;
  return { input, output, cacheRead, cacheWrite, total, cost, source };
}

function usageText(usage) {
  if (!usage) return "";
  const parts = [];
  if (usage.total !== null) parts.push(`${formatCompact(usage.total)} tok`);
  if (usage.source !== null) parts.push(formatCostOf(usage.cost, usage.source));
  return parts.join(" · ");
}

function usageTitle(usage) {
  if (!usage) return null;
  const parts = [];
  if (usage.input !== null) parts.push(`${usage.input} input`);
  if (usage.output !== null) parts.push(`${usage.output} output`);
  if (usage.total !== null) parts.push(`${usage.total} tokens in all`);
  if (usage.source !== null) parts.push(`${formatCostOf(usage.cost, usage.source)}`);
  return parts.join(", ");
}

const KIND_LABELS = { tool: "tool call", llm: "model call", agent: "agent / sub-agent", wait: "waiting" };

function Legend({ rows }) {
  const kinds = [...new Set(rows.map((r) => r.span.kind || "other"))].sort();
  return html`<ul class="wf-legend" aria-label="Legend">
    ${kinds.map((kind) => html`<li key=${kind}><span class=${`wf-swatch kind-${kind}`} aria-hidden="true"></span>${KIND_LABELS[kind] || kind}</li>`)}
    <li><span class="wf-swatch is-error" aria-hidden="true"></span>failed</li>
    <li><span class="wf-swatch is-running" aria-hidden="true"></span>running</li>
    <li class="muted">indented: called by the span above</li>
  </ul>`;
}

function moveFocus(event, onToggle) {
  const row = event.target.closest(".wf-row");
  if (!row) return;
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
    const expanded = row.dataset.expanded;
    if (expanded === undefined) return;
    if ((event.key === "ArrowLeft") === (expanded === "true")) {
      event.preventDefault();
      onToggle(row.dataset.span);
    }
    return;
  }
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const all = [...row.closest(".waterfall").querySelectorAll(".wf-row")];
  const sibling = all[all.indexOf(row) + (event.key === "ArrowDown" ? 1 : -1)];
  if (sibling) {
    event.preventDefault();
    sibling.focus();
  }
}

function WaterfallRow({ row, selected, collapsed, onSelect, onToggle, detail }) {
  const { span } = row;
  const classes = ["wf-row", `kind-${span.kind || "other"}`];
  if (span.status === "error") classes.push("is-error");
  if (row.running) classes.push("is-running");
  if (selected) classes.push("is-selected");
  const usage = spanUsage(span);
  const indent = { paddingLeft: `${1.5 + row.depth * 1.1}rem` };
  const hasKids = row.childCount > 0;
  return html`<div class=${`wf-item depth-${Math.min(row.depth, 6)}`} role="listitem">
    ${hasKids && html`<button type="button" class="wf-toggle" style=${{ left: `${0.3 + row.depth * 1.1}rem` }}
        aria-expanded=${!collapsed} tabindex="-1"
        aria-label=${`${collapsed ? "Show" : "Hide"} the ${row.childCount} span${row.childCount === 1 ? "" : "s"} called by ${span.name || "this span"}`}
        onClick=${() => onToggle(span.span_id)}>${collapsed ? "▸" : "▾"}</button>`}
    <button type="button" class=${classes.join(" ")} aria-pressed=${selected}
        data-span=${span.span_id} data-expanded=${hasKids ? String(!collapsed) : undefined}
        onClick=${() => onSelect(selected ? null : span.span_id)} onKeyDown=${(e) => moveFocus(e, onToggle)}>
      <span class="wf-name" style=${indent} title=${span.name || ""}>
        ${span.name || "(unnamed)"}${span.reconstructed ? html` <span class="muted" title="start derived from end and duration">≈</span>` : ""}${
          hasKids && collapsed ? html` <span class="muted small">+${row.childCount}</span>` : ""}
      </span>
      <span class="wf-kind">${span.kind || "—"}</span>
      <span class=${`wf-status status-${span.status}`}>${statusLabel(span.status)}</span>
      <span class="wf-dur">${row.running ? "running" : formatDuration(span.duration_ms)}</span>
      <span class="wf-usage" title=${usageTitle(usage)}>${usageText(usage)}</span>
      <span class="wf-track">
        <span class="wf-bar" style=${{ left: `${row.left}%`, width: `${row.width}%` }}
          title=${`+${formatDuration(row.offsetMs)}`}></span>
      </span>
    </button>
    ${selected && detail && html`<div class="wf-detail">${detail}</div>`}
  </div>`;
}

/**
 * The waterfall of a run. `detail`: what to show under the selected span's row (its input,
 * output, attributes), rendered by the caller.
 */
export function Waterfall({ run, spans, selectedId, onSelect, now, detail = null }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  if (spans.length === 0) {
    return html`<p class="note empty">This run has no spans (no model or tool calls recorded).</p>`;
  }
  const { rows, total } = layoutWaterfall(run, spans, now);
  const ordered = treeOrder(rows);
  const toggle = (spanId) => setCollapsed((prev) => {
    const next = new Set(prev);
    if (next.has(spanId)) next.delete(spanId);
    else next.add(spanId);
    return next;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return html`<div class="waterfall-box">
    <${Legend} rows=${rows} />
    <div class="waterfall" role="list" aria-label="Spans of the run, each under the span that called it">
      <div class="wf-head" aria-hidden="true">
        <span class="wf-name">span</span><span class="wf-kind">kind</span>
        <span class="wf-status">status</span><span class="wf-dur">duration</span><span class="wf-usage">tokens · cost</span>
        <span class="wf-track wf-axis">
          ${ticks.map((t) => html`<span class="wf-tick" key=${t} style=${{ left: `${t * 100}%` }}>${formatDuration(total * t)}</span>`)}
        </span>
      </div>
      ${visibleRows(ordered, collapsed).map((row) => html`<${WaterfallRow} key=${row.span.span_id} row=${row}
        selected=${row.span.span_id === selectedId} collapsed=${collapsed.has(row.span.span_id)}
        onSelect=${onSelect} onToggle=${toggle} detail=${detail} />`)}
    </div>
  </div>`;
}
