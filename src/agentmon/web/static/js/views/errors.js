// Errors: what went wrong in a window, grouped by message (numbers, ids, paths and quoted
// text set aside) and tool, most frequent first, each with its trend and its occurrences.
import { html, useState } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useQueryParams } from "../router.js";
import { formatAgo, formatDateTime, formatInt, oneLine, plural } from "../format.js";
import { Sparkline } from "../components/chart.js";
import { Empty, Loaded } from "../components/status.js";

const WINDOWS = ["1h", "6h", "24h", "7d"];
const AGENTS_SHOWN = 3;
const ERROR_EVENT = (e) => ev.type(e) === "error";

function Occurrences({ group, span, now }) {
  const found = useFetch(withQuery("/v1/errors", { group, window: span, limit: 50 }));
  return html`<${Loaded} state=${found} what="Loading the occurrences">${(data) => html`
    <ol class="error-occurrences">${data.errors.map((e) => html`<li key=${e.event_id}>
      <time datetime=${e.ts} title=${formatDateTime(e.ts)}>${formatAgo(e.ts, now)}</time>
      ${" · "}${e.session_id
        ? html`<${Link} href=${`/sessions/${encodeURIComponent(e.session_id)}`}>${e.framework} · ${e.host || "—"}<//>`
        : html`<span>${e.framework} · ${e.host || "—"}</span>`}
      ${" · "}<span class="mono">${oneLine(e.message, 200)}</span>
    </li>`)}</ol>`}<//>`;
}

function ErrorGroupCard({ group: g, span, now }) {
  const [open, setOpen] = useState(false);
  const peak = Math.max(1, ...g.series);
  const agents = g.agents.slice(0, AGENTS_SHOWN).join(", ") + (g.agents.length > AGENTS_SHOWN ? ` +${g.agents.length - AGENTS_SHOWN}` : "");
  return html`<li class="error-group" data-group=${g.group}>
    <div class="error-head">
      <span class="error-count">${formatInt(g.count)}×</span>
      ${g.tool && html`<span class="badge badge-error">${g.tool}</span>`}
      <span class="error-message" title=${g.example || ""}>${g.message || "(no message)"}</span>
    </div>
    <div class="error-facts muted small">
      <${Sparkline} values=${g.series} max=${peak} label=${`${g.count} errors over ${span}`} />
      <span>last ${formatAgo(g.last_seen, now)}, first ${formatAgo(g.first_seen, now)}</span>
      <span>${plural(g.sessions, "session")} · ${agents}</span>
      <button type="button" class="link-button" aria-expanded=${open} onClick=${() => setOpen(!open)}>
        ${open ? "Hide occurrences" : "Show occurrences"}</button>
    </div>
    ${open && html`<${Occurrences} group=${g.group} span=${span} now=${now} />`}
  </li>`;
}

export function ErrorsView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const span = query.get("window") || "24h";
  const groups = useFetch(withQuery("/v1/errors/groups", { window: span }));
  useLiveRefresh(ERROR_EVENT, groups.reload, 3000);
  return html`<div class="view errors">
    <header class="view-head">
      <h1>Errors</h1>
      <label class="window-pick">in the last
        <select value=${span} onChange=${(e) => setQuery({ window: e.currentTarget.value }, { replace: true })}>
          ${WINDOWS.map((w) => html`<option key=${w} value=${w}>${w}</option>`)}
        </select></label>
    </header>
    <${Loaded} state=${groups} what="Loading the errors">${(data) => data.groups.length === 0
      ? html`<${Empty}>No error in the last ${span}.<//>`
      : html`
        <p class="muted small">${plural(data.groups.reduce((n, g) => n + g.count, 0), "error")}${" in "}${plural(data.groups.length, "group")}${data.truncated ? " (the oldest left out)" : ""}</p>
        <ol class="error-groups">${data.groups.map((g) => html`<${ErrorGroupCard} key=${g.group} group=${g} span=${span} now=${now} />`)}</ol>`}<//>
  </div>`;
}
