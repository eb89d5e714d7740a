// How one envelope is described in a feed row: its one-line summary and where it links to.
import { html } from "../lib.js";
import { Link } from "../router.js";
import { formatAgo, formatTime, oneLine } from "../format.js";
import { ev } from "../live.js";
import { statusLabel } from "./status.js";

/** A short human description of an event, from its type and payload (as text). */
function describeEvent(e) {
  const p = e.payload || {};
  switch (ev.type(e)) {
    case "session.start":
      return p.title ? `session started: ${oneLine(p.title, 90)}` : "session started";
    case "session.end":
      return `session ended${p.reason ? ` (${p.reason})` : ""}`;
    case "run.start":
      return p.input ?? p.prompt ? `prompt: ${oneLine(p.input ?? p.prompt, 100)}` : "run started";
    case "run.end":
      return `run ${p.status ? statusLabel(p.status) : "ended"}${p.error ? `: ${oneLine(p.error, 80)}` : ""}`;
    case "span.start":
      return `${p.kind || "span"} ${p.name || p.tool_name || ""} started`;
    case "span.end":
      return `${p.kind || "span"} ${p.name || p.tool_name || ""} ${p.status ? statusLabel(p.status) : "done"}${p.error ? `: ${oneLine(p.error, 80)}` : ""}`;
    case "error":
      return `error${p.kind ? ` (${p.kind})` : ""}: ${oneLine(p.message, 100)}`;
    case "metric.snapshot":
      if (p.agent_state === "waiting_for_human") {
        return `waiting for a human${p.waiting_reason ? ` (${p.waiting_reason})` : ""}${p.message ? `: ${oneLine(p.message, 80)}` : ""}`;
      }
      return p.usage ? `usage: ${p.usage.total_tokens ?? (p.usage.input_tokens ?? 0) + (p.usage.output_tokens ?? 0)} tokens` : "metrics";
    case "openclaw.snapshot":
      return `VM ${p.instance || ev.host(e)}: ${p.state || "snapshot"}${typeof p.cpu_pct === "number" ? `, CPU ${p.cpu_pct.toFixed(0)} %` : ""}`;
    default:
      return ev.type(e);
  }
}

/** Where an event row leads: its session, the VM grid for VM snapshots, or nowhere. */
function eventHref(e) {
  const session = ev.session(e);
  if (session) return `/sessions/${encodeURIComponent(session)}`;
  if (ev.type(e) === "openclaw.snapshot") return "/openclaw";
  return null;
}

function severity(e) {
  const t = ev.type(e);
  const p = e.payload || {};
  if (t === "error" || p.status === "error") return "bad";
  if (p.agent_state === "waiting_for_human") return "warn";
  return "";
}

/** One row of an event feed; the whole row is a link when the event belongs somewhere. */
export function EventRow({ event, now, showFramework = true }) {
  const href = eventHref(event);
  const content = html`
    <time class="feed-time" datetime=${ev.ts(event)} title=${formatAgo(ev.ts(event), now)}>${formatTime(ev.ts(event))}</time>
    <span class="feed-type">${ev.type(event)}</span>
    ${showFramework && html`<span class="feed-fw">${ev.framework(event)}</span>`}
    <span class="feed-host">${ev.host(event) || "—"}</span>
    <span class="feed-text">${describeEvent(event)}</span>`;
  const cls = `feed-row ${severity(event)}`;
  return href
    ? html`<li><${Link} class=${cls} href=${href}>${content}<//></li>`
    : html`<li><div class=${cls}>${content}</div></li>`;
}
