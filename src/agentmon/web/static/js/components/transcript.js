// A session as a transcript, for people who would rather read than look at bars: per run the
// prompt, then the model calls and tool calls (with their inputs and results) and errors in
// the order they happened, then the answer.
import { html } from "../lib.js";
import { useFetch } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import {
  formatCompact, formatCostOf, formatDateTime, formatDuration, formatTime, parseTs, plural,
} from "../format.js";
import { ErrorNote, Loading, StatusBadge } from "./status.js";
import { ClampedText } from "./text.js";
import { spanUsage } from "./waterfall.js";

/** The readable text of a model call's output: its text field when it has one. */
function modelText(output) {
  if (output === null || output === undefined) return null;
  if (typeof output === "string") return output;
  for (const key of ["text", "content", "message", "output"]) {
    if (typeof output[key] === "string") return output[key];
  }
  return output;
}

/** A tool's input or result: one line when it is short, indented JSON when it is not. */
function compact(value) {
  if (typeof value === "string") return value;
  const line = JSON.stringify(value);
  return line.length <= 160 ? line : JSON.stringify(value, null, 2);
}

/** Spans and errors of a run in the order they happened. */
function steps(spans, errors) {
  const items = [
    ...spans.map((span, i) => ({ kind: "span", at: parseTs(span.started_at), order: i, span })),
    ...errors
      // An error that a failed span already shows is not repeated.
      .filter((e) => !e.span_id || !spans.some((s) => s.span_id === e.span_id && s.error))
      .map((error, i) => ({ kind: "error", at: parseTs(error.ts), order: spans.length + i, error })),
  ];
  return items.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity) || a.order - b.order);
}

function SpanStep({ span }) {
  const usage = spanUsage(span);
  const head = html`<span class="step-label">${span.kind === "llm" ? "model" : span.kind || "span"}</span>
    <span class="mono step-name">${span.name || "(unnamed)"}</span>
    <span class="muted small">${formatTime(span.started_at)} · ${span.status === "running" ? "running"
      : formatDuration(span.duration_ms)}${usage?.total != null ? ` · ${formatCompact(usage.total)} tokens` : ""}${
      usage?.source != null ? ` · ${formatCostOf(usage.cost, usage.source)}` : ""}</span>
    ${span.status !== "ok" && span.status !== "running" && html`<${StatusBadge} status=${span.status} />`}`;
  if (span.kind === "llm") {
    return html`<li class="step llm"><div class="turn-head">${head}</div>
      ${span.output != null && html`<${ClampedText} text=${modelText(span.output)} />`}
      ${span.error && html`<div class="step error"><${ClampedText} text=${span.error} /></div>`}
    </li>`;
  }
  return html`<li class=${`step tool ${span.status === "error" ? "is-error" : ""}`}><div class="turn-head">${head}</div>
    ${span.input != null && html`<span class="muted small">input</span><${ClampedText} text=${compact(span.input)} limit=${400} />`}
    ${span.output != null && html`<span class="muted small">result</span><${ClampedText} text=${compact(span.output)} limit=${400} />`}
    ${span.error && html`<div class="step error"><span class="muted small">error</span><${ClampedText} text=${span.error} /></div>`}
  </li>`;
}

function Turn({ run, index }) {
  const detail = useFetch(`/v1/runs/${encodeURIComponent(run.run_id)}`);
  useLiveRefresh((e) => ev.run(e) === run.run_id, detail.reload, 1000);
  const data = detail.data;
  return html`<li class=${`turn status-${run.status}`} aria-label=${`Run ${index + 1}`}>
    <div class="turn-head">
      <strong>#${index + 1}</strong>
      <${StatusBadge} status=${run.status} />
      <time datetime=${run.started_at} class="muted">${formatDateTime(run.started_at)}</time>
      <span class="muted">${`${run.status === "running" ? "running" : formatDuration(run.duration_ms)} · ${plural(run.tool_count, "tool call")} · ${formatCompact(run.tokens?.total ?? 0)} tokens · ${formatCostOf(run.cost_usd, run.cost_source)}`}</span>
    </div>
    <div class="step user"><span class="step-label">prompt</span><${ClampedText} text=${run.input} /></div>
    ${data === null
      ? detail.error ? html`<${ErrorNote} error=${detail.error} onRetry=${detail.reload} />` : html`<${Loading} what="Loading the run's steps" />`
      : html`<ol class="turn-steps">${steps(data.spans, data.errors).map((step) => step.kind === "span"
          ? html`<${SpanStep} key=${step.span.span_id} span=${step.span} />`
          : html`<li key=${step.error.event_id} class="step error">
              <span class="step-label">error${step.error.kind ? ` (${step.error.kind})` : ""}
                <span class="muted small">${formatTime(step.error.ts)}</span></span>
              <${ClampedText} text=${step.error.message} limit=${300} />
            </li>`)}</ol>`}
    ${run.error && html`<div class="step error"><span class="step-label">run failed</span><${ClampedText} text=${run.error} /></div>`}
    <div class="step answer"><span class="step-label">answer</span>${run.output
      ? html`<${ClampedText} text=${run.output} />`
      : html`<span class="muted">${run.status === "running" ? "not yet: the run is still going" : "no answer recorded"}</span>`}</div>
  </li>`;
}

export function Transcript({ runs }) {
  return html`<ol class="transcript">
    ${runs.map((run, i) => html`<${Turn} key=${run.run_id} run=${run} index=${i} />`)}
  </ol>`;
}
