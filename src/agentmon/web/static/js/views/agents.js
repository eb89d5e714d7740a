// Agents: the live timeline of OpenClaw agent events, the VMs' status pills, and counts per
// event type and host (click one to filter; filters live in the URL).
import { html } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { useQueryParams } from "../router.js";
import { formatInt } from "../format.js";
import { useEventFeed } from "../feed.js";
import { Empty, ErrorNote, Loaded, Loading } from "../components/status.js";
import { EventRow } from "../components/events.js";
import { VmPill } from "../components/vm.js";

const FRAMEWORK = "openclaw";
const isOpenClaw = (e) => ev.framework(e) === FRAMEWORK;

function countBy(events, key) {
  const counts = new Map();
  for (const e of events) {
    const k = key(e) || "—";
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

function CountList({ title, counts, selected, onPick }) {
  return html`<section class="panel counts">
    <h3>${title}</h3>
    ${counts.length === 0 ? html`<p class="muted">none</p>` : html`<ul>
      ${counts.map(([name, n]) => html`<li key=${name}>
        <button type="button" class=${`count-row ${selected === name ? "active" : ""}`} aria-pressed=${selected === name}
            onClick=${() => onPick(selected === name ? null : name)}>
          <span>${name}</span><span class="num">${formatInt(n)}</span>
        </button>
      </li>`)}
    </ul>`}
  </section>`;
}

export function AgentsView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const type = query.get("type");
  const host = query.get("host");
  const withSnapshots = query.get("snapshots") === "1";
  const instances = useFetch("/v1/openclaw/instances");
  useLiveRefresh((e) => ev.type(e) === "openclaw.snapshot", instances.reload, 2000);
  const initial = useFetch(withQuery("/v1/events", { framework: FRAMEWORK, limit: 500 }));
  const feed = useEventFeed(initial.data?.events ?? null, isOpenClaw, 500);

  const base = withSnapshots || type === "openclaw.snapshot"
    ? feed.events
    : feed.events.filter((e) => ev.type(e) !== "openclaw.snapshot");
  const shown = base.filter((e) => (!type || ev.type(e) === type) && (!host || (ev.host(e) || "—") === host));

  let timeline;
  if (initial.data === null) {
    timeline = initial.error
      ? html`<${ErrorNote} error=${initial.error} onRetry=${initial.reload} />`
      : html`<${Loading} what="Loading OpenClaw events" />`;
  } else if (shown.length === 0) {
    timeline = html`<${Empty}>${feed.events.length === 0
      ? "No OpenClaw events yet. Agents running in OpenClaw report here through the agentmon hook; VM snapshots come from agentmon openclaw-monitor."
      : "No event matches this filter."}<//>`;
  } else {
    timeline = html`<ol class="feed timeline">
      ${shown.map((e) => html`<${EventRow} key=${ev.id(e)} event=${e} now=${now} showFramework=${false} />`)}
    </ol>`;
  }

  return html`<div class="view agents">
    <header class="view-head"><h1>OpenClaw agents</h1></header>
    <section class="vm-strip" aria-label="OpenClaw VMs">
      <span class="strip-label">VMs</span>
      <${Loaded} state=${instances} what="Loading VMs">${(data) => data.instances.length === 0
        ? html`<span class="muted">no VM snapshots yet</span>`
        : data.instances.map((i) => html`<${VmPill} key=${i.name} instance=${i} />`)}<//>
    </section>
    <div class="agents-layout">
      <section class="panel feed-panel">
        <header class="panel-head">
          <h2>Timeline <span class="muted small">${shown.length} of the latest ${feed.events.length} events</span></h2>
          <div class="panel-tools">
            <label class="check"><input type="checkbox" checked=${withSnapshots}
              onChange=${(e) => setQuery({ snapshots: e.currentTarget.checked ? "1" : null }, { replace: true })} /> VM snapshots</label>
            <button type="button" class=${`toggle ${feed.paused ? "paused" : ""}`} aria-pressed=${feed.paused}
                onClick=${() => feed.setPaused(!feed.paused)}>
              ${feed.paused ? `Resume${feed.pending ? ` (${feed.pending} new)` : ""}` : "Pause"}
            </button>
          </div>
        </header>
        ${timeline}
      </section>
      <aside class="agents-stats">
        <${CountList} title="By type" counts=${countBy(base, ev.type)} selected=${type}
          onPick=${(v) => setQuery({ type: v }, { replace: true })} />
        <${CountList} title="By host" counts=${countBy(base, ev.host)} selected=${host}
          onPick=${(v) => setQuery({ host: v }, { replace: true })} />
      </aside>
    </div>
  </div>`;
}
