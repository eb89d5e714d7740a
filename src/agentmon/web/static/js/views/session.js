// Session detail: the header, its runs, and each opened run as a waterfall of its spans with
// the selected span's payload; or the whole session as a transcript to read. The tab, the
// opened run and span live in the URL (?tab=transcript, ?run=…&span=…).
import { html } from "../lib.js";
import { usePageTitle, useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import {
  costTitle, formatAgo, formatCompact, formatCostOf, formatDateTime, formatDuration, formatInt, oneLine, plural,
} from "../format.js";
import { Empty, ErrorNote, Loading, StatusBadge } from "../components/status.js";
import { Waterfall, spanUsage } from "../components/waterfall.js";
import { Transcript } from "../components/transcript.js";
import { JsonView } from "../components/json.js";
import { ClampedText } from "../components/text.js";

function tokensText(tokens) {
  if (!tokens || !tokens.total) return "—";
  const parts = [`${formatCompact(tokens.input)} in`, `${formatCompact(tokens.output)} out`];
  if (tokens.cache_read) parts.push(`${formatCompact(tokens.cache_read)} cache read`);
  if (tokens.cache_write) parts.push(`${formatCompact(tokens.cache_write)} cache write`);
  return `${formatCompact(tokens.total)} (${parts.join(", ")})`;
}

// A resumed session's wall time spans the gaps between its runs; its active time (the runs'
// durations) is shown beside it once the gaps are a minute and a fifth of the wall time.
function durationText(s) {
  const wall = s.duration_ms, active = s.active_ms;
  const gap = wall == null || active == null ? 0 : wall - active;
  if (gap < 60_000 || gap < wall / 5) return formatDuration(wall);
  return `${formatDuration(wall)} (${formatDuration(active)} active)`;
}

function SessionHeader({ session: s, now }) {
  const facts = [
    ["Framework", s.framework],
    ["Host", s.host || "—"],
    ["Client", s.client_id || "—"],
    ["Model", s.model || "—"],
    ["Started", html`<time datetime=${s.started_at}>${formatDateTime(s.started_at)}</time> <span class="muted">(${formatAgo(s.started_at, now)})</span>`],
    ["Duration", durationText(s)],
    ["Last event", formatAgo(s.last_event_at, now)],
    ["Runs", `${formatInt(s.run_count)} · ${plural(s.tool_count, "tool call")} · ${plural(s.error_count, "error")}`],
    ["Tokens", tokensText(s.tokens)],
    ["Cost", html`<span class="cost" title=${costTitle(s.cost_source)}>${formatCostOf(s.cost_usd, s.cost_source)}${
      s.cost_source === "none" ? ` (${formatCompact(s.tokens?.total ?? 0)} tokens)` : ""}</span>`],
  ];
  if (s.ended_at) facts.push(["Ended", `${formatDateTime(s.ended_at)}${s.end_reason ? ` (${s.end_reason})` : ""}`]);
  return html`<header class="session-head">
    <p class="crumbs"><${Link} href="/sessions">Sessions<//> / <span class="mono">${s.session_id}</span></p>
    <h1><${StatusBadge} status=${s.status} /> <span class="title-text">${s.title ? oneLine(s.title, 160) : "Untitled session"}</span></h1>
    ${s.status === "waiting" && html`<div class="callout warn" role="status">
      ${s.waiting_message && html`<p class="waiting-question"><span class="muted">It asks:</span> <q>${s.waiting_message}</q></p>`}
      <p>This agent is waiting for a human${s.waiting_reason ? ` (${s.waiting_reason.replace(/_/g, " ")})` : ""}${" since "}<time
        datetime=${s.last_event_at}>${formatDateTime(s.last_event_at)}</time> (${formatAgo(s.last_event_at, now)}).</p>
    </div>`}
    <dl class="facts">${facts.map(([k, v]) => html`<div key=${k}><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>
  </header>`;
}

/** The model an llm span called: its GenAI/OpenInference attribute, else its name. */
function spanModel(span) {
  const attributes = span.attributes || {};
  return attributes["gen_ai.response.model"] || attributes["gen_ai.request.model"]
    || attributes["llm.model_name"] || span.name || "—";
}

function SpanDetail({ span, onClose }) {
  const usage = spanUsage(span);
  return html`<section class="span-detail" aria-label=${`Span ${span.name || span.span_id}`}>
    <header class="panel-head">
      <h3>${span.name || "(unnamed)"} <span class="muted small">${span.kind}</span> <${StatusBadge} status=${span.status} /></h3>
      <button type="button" class="link-button" onClick=${onClose}>Close</button>
    </header>
    <dl class="facts small">
      <div><dt>Started</dt><dd>${formatDateTime(span.started_at)}</dd></div>
      <div><dt>Duration</dt><dd>${span.status === "running" ? "running" : formatDuration(span.duration_ms)}</dd></div>
      <div><dt>Span id</dt><dd class="mono">${span.span_id}</dd></div>
      ${span.parent_span_id && html`<div><dt>Parent</dt><dd class="mono">${span.parent_span_id}</dd></div>`}
      ${span.kind === "llm" && html`<div><dt>Model</dt><dd>${spanModel(span)}</dd></div>`}
      ${usage?.total != null && html`<div><dt>Tokens</dt><dd>${formatInt(usage.total)}${usage.input != null
        ? ` (${formatInt(usage.input)} in, ${formatInt(usage.output ?? 0)} out)` : ""}</dd></div>`}
      ${usage?.cacheRead ? html`<div><dt>Cache read tokens</dt><dd>${formatInt(usage.cacheRead)}</dd></div>` : null}
      ${usage?.cacheWrite ? html`<div><dt>Cache write tokens</dt><dd>${formatInt(usage.cacheWrite)}</dd></div>` : null}
      ${span.kind === "llm" && !usage && html`<div><dt>Tokens</dt><dd class="muted">not reported</dd></div>`}
      ${usage?.source != null && html`<div><dt>Cost</dt><dd title=${costTitle(usage.source)}>${formatCostOf(usage.cost, usage.source)}</dd></div>`}
    </dl>
    ${span.error && html`<div class="span-error"><h4>Error</h4><${ClampedText} text=${span.error} /></div>`}
    <h4>Input</h4>${span.input == null ? html`<p class="muted small">not recorded</p>` : html`<${JsonView} value=${span.input} label="span input" />`}
    <h4>Output</h4>${span.output == null ? html`<p class="muted small">not recorded</p>` : html`<${JsonView} value=${span.output} label="span output" />`}
    <h4>Attributes</h4><${JsonView} value=${span.attributes ?? {}} label="span attributes" />
  </section>`;
}

function RunDetail({ runId, spanId, setSpan, live }) {
  const detail = useFetch(`/v1/runs/${encodeURIComponent(runId)}`);
  useLiveRefresh((e) => ev.run(e) === runId, detail.reload, 500);
  const running = detail.data?.run.status === "running";
  const now = useTick(running ? 1000 : 60000);
  if (detail.data === null) {
    return detail.error
      ? html`<${ErrorNote} error=${detail.error} onRetry=${detail.reload} />`
      : html`<${Loading} what="Loading spans" />`;
  }
  const { run, spans, errors } = detail.data;
  const selected = spans.find((s) => s.span_id === spanId) || null;
  return html`<div class="run-detail">
    <div class="run-io">
      <div><h4>Prompt</h4><${ClampedText} text=${run.input} /></div>
      <div><h4>Answer</h4><${ClampedText} text=${run.output} /></div>
    </div>
    ${run.error && html`<div class="span-error"><h4>Run error</h4><${ClampedText} text=${run.error} /></div>`}
    <h4>Spans <span class="muted small">${spans.length} · click one for its input and output${live ? " · live" : ""}</span></h4>
    <${Waterfall} run=${run} spans=${spans} selectedId=${selected?.span_id} onSelect=${setSpan} now=${now}
      detail=${selected && html`<${SpanDetail} span=${selected} onClose=${() => setSpan(null)} />`} />
    ${errors.length > 0 && html`<div class="run-errors">
      <h4>Errors <span class="count bad">${errors.length}</span></h4>
      <ul>${errors.map((e) => html`<li key=${e.event_id}>
        <time datetime=${e.ts}>${formatDateTime(e.ts)}</time> <span class="muted">${e.kind || "error"}</span>
        <${ClampedText} text=${e.message} limit=${300} />
      </li>`)}</ul>
    </div>`}
  </div>`;
}

function RunItem({ run, index, open, toggle, spanId, setSpan, live, now }) {
  const panelId = `run-${index}`;
  return html`<li class=${`run ${open ? "open" : ""} status-${run.status}`}>
    <button type="button" class="run-head" aria-expanded=${open} aria-controls=${panelId} onClick=${toggle}>
      <span class="chevron" aria-hidden="true">${open ? "▾" : "▸"}</span>
      <span class="run-index">#${index + 1}</span>
      <${StatusBadge} status=${run.status} />
      <span class="run-prompt">${oneLine(run.input, 110) || html`<span class="muted">no prompt recorded</span>`}</span>
      <span class="run-meta muted">
        <time datetime=${run.started_at} title=${formatDateTime(run.started_at)}>${formatAgo(run.started_at, now)}</time>
        ${` · ${run.status === "running" ? "running" : formatDuration(run.duration_ms)} · ${plural(run.tool_count, "tool call")}`}
        ${run.error_count ? html`${" · "}<span class="bad-text">${plural(run.error_count, "error")}</span>` : ""}
        ${` · ${formatCompact(run.tokens?.total ?? 0)} tokens · ${formatCostOf(run.cost_usd, run.cost_source)}`}
      </span>
    </button>
    ${open && html`<div id=${panelId} class="run-body">
      <${RunDetail} runId=${run.run_id} spanId=${spanId} setSpan=${setSpan} live=${live} />
    </div>`}
  </li>`;
}

/** Whether the agent may still be working: only an active or waiting session is "live". */
function isLive(session) {
  return !session.ended_at && (session.status === "active" || session.status === "waiting");
}

const TABS = [["runs", "Runs"], ["transcript", "Transcript"]];
const CLOSED = "none";

function Tabs({ tab, setTab, meta }) {
  return html`<div class="tabs" role="tablist" aria-label="Session views">
    ${TABS.map(([name, label]) => html`<button type="button" role="tab" key=${name} aria-selected=${tab === name}
      onClick=${() => setTab(name)}>${label}</button>`)}
    <span class="tabs-meta muted small">${meta}</span>
  </div>`;
}

export function SessionView({ id }) {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const detail = useFetch(`/v1/sessions/${encodeURIComponent(id)}`);
  useLiveRefresh((e) => ev.session(e) === id, detail.reload, 700);
  const session = detail.data?.session;
  usePageTitle(session ? `Session ${oneLine(session.title || session.session_id, 60)}` : null);

  if (detail.data === null) {
    if (detail.error?.status === 404) {
      return html`<div class="view"><${Empty}>
        <p>No session with id <span class="mono">${id}</span>.</p>
        <p><${Link} href="/sessions">All sessions<//></p>
      <//></div>`;
    }
    return html`<div class="view">${detail.error
      ? html`<${ErrorNote} error=${detail.error} onRetry=${detail.reload} />`
      : html`<${Loading} what="Loading session" />`}</div>`;
  }
  const { runs } = detail.data;
  // a session of one run shows it open; "run=none" keeps it closed once the user closed it
  const chosen = query.get("run");
  const openRun = chosen ?? (runs.length === 1 ? runs[0].run_id : null);
  const tab = query.get("tab") === "transcript" ? "transcript" : "runs";
  const live = isLive(session);
  const toggle = (runId) => () => setQuery({ run: openRun === runId ? CLOSED : runId, span: null }, { replace: true });
  const setSpan = (spanId) => setQuery({ span: spanId }, { replace: true });
  const setTab = (name) => setQuery({ tab: name === "runs" ? null : name }, { replace: true });
  return html`<div class="view session">
    ${detail.error && html`<${ErrorNote} error=${detail.error} onRetry=${detail.reload} />`}
    <${SessionHeader} session=${session} now=${now} />
    <section class="runs">
      <h2 class="visually-hidden">${tab === "runs" ? "Runs" : "Transcript"}</h2>
      <${Tabs} tab=${tab} setTab=${setTab} meta=${`${plural(runs.length, "run")}${live ? " · updating live" : ""}`} />
      ${runs.length === 0
        ? html`<${Empty}>No runs in this session yet.<//>`
        : tab === "transcript"
          ? html`<${Transcript} runs=${runs} />`
          : html`<ol class="run-list">${runs.map((run, i) => html`<${RunItem} key=${run.run_id} run=${run} index=${i}
            open=${openRun === run.run_id} toggle=${toggle(run.run_id)} spanId=${query.get("span")}
            setSpan=${setSpan} live=${live} now=${now} />`)}</ol>`}
    </section>
  </div>`;
}
