// A run's spans as a waterfall: one row per span in start order, each bar placed by its
// offset from the run start and sized by its duration. Running spans are open-ended.
import { html } from "../lib.js";
import { formatDuration, parseTs } from "../format.js";

/** Depth of each span in its parent chain (0 for spans without a known parent). */
function depths(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const memo = new Map();
  const depthOf = (span, seen = new Set()) => {
    if (memo.has(span.span_id)) return memo.get(span.span_id);
    const parent = span.parent_span_id ? byId.get(span.parent_span_id) : undefined;
    let depth = 0;
    if (parent && !seen.has(parent.span_id)) {
      seen.add(span.span_id);
      depth = depthOf(parent, seen) + 1;
    }
    memo.set(span.span_id, depth);
    return depth;
  };
  return new Map(spans.map((s) => [s.span_id, depthOf(s)]));
}

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
  const depthMap = depths(spans);
  const rows = ordered.map(({ span, start }, i) => {
    const running = span.status === "running";
    const begin = start ?? runStart;
    const end = ends[i] ?? begin + (span.duration_ms ?? 0);
    const left = ((begin - runStart) / total) * 100;
    const width = Math.max(((Math.max(end, begin) - begin) / total) * 100, 0.4);
    return {
      span,
      running,
      depth: depthMap.get(span.span_id) ?? 0,
      offsetMs: begin - runStart,
      left: Math.min(Math.max(left, 0), 99.6),
      width: Math.min(width, 100 - Math.min(Math.max(left, 0), 99.6)),
    };
  });
  return { rows, total, runStart };
}

function moveFocus(event) {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const row = event.target.closest(".wf-row");
  const sibling = event.key === "ArrowDown" ? row?.nextElementSibling : row?.previousElementSibling;
  if (sibling) {
    event.preventDefault();
    sibling.focus();
  }
}

export function Waterfall({ run, spans, selectedId, onSelect, now }) {
  if (spans.length === 0) {
    return html`<p class="note empty">This run has no spans (no model or tool calls recorded).</p>`;
  }
  const { rows, total } = layoutWaterfall(run, spans, now);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return html`<div class="waterfall" role="list" aria-label="Spans of the run in start order">
    <div class="wf-head" aria-hidden="true">
      <span class="wf-name">span</span><span class="wf-kind">kind</span>
      <span class="wf-status">status</span><span class="wf-dur">duration</span>
      <span class="wf-track wf-axis">
        ${ticks.map((t) => html`<span class="wf-tick" key=${t} style=${{ left: `${t * 100}%` }}>${formatDuration(total * t)}</span>`)}
      </span>
    </div>
    ${rows.map((row) => {
      const { span } = row;
      const classes = ["wf-row", `kind-${span.kind || "other"}`];
      if (span.status === "error") classes.push("is-error");
      if (row.running) classes.push("is-running");
      if (span.span_id === selectedId) classes.push("is-selected");
      return html`<button type="button" role="listitem" class=${classes.join(" ")} key=${span.span_id}
          aria-pressed=${span.span_id === selectedId}
          onClick=${() => onSelect(span.span_id === selectedId ? null : span.span_id)} onKeyDown=${moveFocus}>
        <span class="wf-name" style=${{ paddingLeft: `${0.25 + row.depth * 1}rem` }} title=${span.name || ""}>
          ${span.name || "(unnamed)"}${span.reconstructed ? html` <span class="muted" title="start derived from end and duration">≈</span>` : ""}
        </span>
        <span class="wf-kind">${span.kind || "—"}</span>
        <span class=${`wf-status status-${span.status}`}>${span.status}</span>
        <span class="wf-dur">${row.running ? "running" : formatDuration(span.duration_ms)}</span>
        <span class="wf-track">
          <span class="wf-bar" style=${{ left: `${row.left}%`, width: `${row.width}%` }}
            title=${`+${formatDuration(row.offsetMs)}`}></span>
        </span>
      </button>`;
    })}
  </div>`;
}
