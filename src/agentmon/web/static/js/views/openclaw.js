// OpenClaw: one health card per VM (state, heartbeat age, CPU with a sparkline, memory,
// disk, network, gateway, services, issues), live; or how to set the monitor up.
import { html, useEffect, useRef } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { ev, useLiveRefresh } from "../live.js";
import { Link, useRoute } from "../router.js";
import {
  formatAge, formatBytes, formatDateTime, formatDuration, formatPct, formatRate, plural,
} from "../format.js";
import { ErrorNote, Loading } from "../components/status.js";
import { Sparkline } from "../components/chart.js";
import { findings, healthLevel } from "../components/vm.js";

const isSnapshot = (e) => ev.type(e) === "openclaw.snapshot";

/** Where one VM's card is: the page scrolls to it and marks it. */
export const vmCardHref = (name) => withQuery("/openclaw", { vm: name });

function Meter({ pct, warn = 80, bad = 90, label }) {
  if (typeof pct !== "number") return null;
  const level = pct > bad ? "bad" : pct > warn ? "warn" : "ok";
  return html`<span class=${`meter level-${level}`} role="meter" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow=${Math.round(pct)} aria-label=${label}>
    <span class="meter-fill" style=${{ width: `${Math.min(pct, 100)}%` }}></span>
  </span>`;
}

function Row({ label, children }) {
  return html`<div class="vm-row"><dt>${label}</dt><dd>${children}</dd></div>`;
}

/** The agent sessions on a VM (host = instance name): how many are active, waiting, failing. */
function VmAgents({ name }) {
  const sessions = useFetch(withQuery("/v1/sessions", { host: name, limit: 100 }));
  useLiveRefresh((e) => ev.host(e) === name && ev.session(e) !== null, sessions.reload, 2000);
  if (!sessions.data) return html`<span class="muted">${sessions.error ? "unavailable" : "…"}</span>`;
  const count = (status) => sessions.data.sessions.filter((s) => s.status === status).length;
  const active = count("active");
  const waiting = count("waiting");
  const failed = count("error");
  if (sessions.data.sessions.length === 0) return html`<span class="muted">no agent sessions</span>`;
  const list = (status) => withQuery("/sessions", { host: name, status });
  return html`<span class="vm-agents">
    <${Link} href=${list("active")}>${active} active<//>${waiting ? html`${" · "}<${Link} class="warn-text"
      href=${list("waiting")}>${waiting} waiting for a human<//>` : ""}${failed ? html`${" · "}<${Link}
      class="bad-text" href=${list("error")}>${failed} failed<//>` : ""}${" · "}<${Link} href=${list()}>all<//>
  </span>`;
}

function InstanceCard({ instance, fetchedAt, now, chosen }) {
  const name = instance.name;
  const card = useRef(null);
  useEffect(() => {
    if (chosen) card.current?.scrollIntoView({ block: "center" });
  }, [chosen]);
  const history = useFetch(withQuery(`/v1/openclaw/instances/${encodeURIComponent(name)}/history`, { window: "1h" }));
  useLiveRefresh((e) => isSnapshot(e) && (e.payload?.instance || ev.host(e)) === name, history.reload, 3000);
  const snap = instance.snapshot || {};
  const level = healthLevel(instance);
  const notes = findings(instance);
  const mem = snap.memory || {};
  const disk = snap.disk || {};
  const net = snap.net || {};
  const gateway = snap.gateway;
  // The instance's age was measured when it was fetched; keep it ticking between fetches.
  const age = instance.age_s + Math.max(0, (now - fetchedAt) / 1000);
  const points = history.data?.points ?? [];
  return html`<article ref=${card} id=${`vm-${name}`} class=${`vm-card level-${level}${chosen ? " chosen" : ""}`}
    aria-label=${`VM ${name}`} aria-current=${chosen ? "true" : undefined}>
    <header class="vm-card-head">
      <h2><span class="dot" aria-hidden="true"></span>${name}</h2>
      <span class=${`vm-state state-${snap.state || "unknown"}`}>${snap.state || "unknown"}</span>
    </header>
    <p class="muted small">
      ${snap.uptime_s != null ? `up ${formatDuration(snap.uptime_s * 1000)} · ` : ""}
      last snapshot <time datetime=${instance.ts} title=${formatDateTime(instance.ts)}
        class=${age > 300 ? "bad-text" : instance.stale ? "warn-text" : ""}>${formatAge(age)}</time>
    </p>
    <dl class="vm-rows">
      <${Row} label="Agents"><${VmAgents} name=${name} /><//>
      <${Row} label="CPU">
        <span class="vm-figure">${formatPct(snap.cpu_pct)}${snap.vcpus ? html` <span class="muted">of ${snap.vcpus} vCPU</span>` : ""}</span>
        ${history.data ? html`<${Sparkline} values=${points.map((p) => p.cpu_pct)} label=${`CPU of ${name}, last hour`} />`
          : history.error ? html`<span class="muted small">history unavailable</span>` : null}
      <//>
      <${Row} label="Memory">
        ${mem.assigned_kb
          ? html`<span class="vm-figure">${formatBytes((mem.used_kb ?? 0) * 1024)} / ${formatBytes(mem.assigned_kb * 1024)}</span>
              <${Meter} pct=${mem.pct ?? ((mem.used_kb ?? 0) / mem.assigned_kb) * 100} label="memory used" />`
          : html`<span class="muted" title="balloon statistics need the guest's virtio balloon driver and a stats period">not reported</span>`}
      <//>
      <${Row} label=${`Disk${disk.mount ? ` ${disk.mount}` : ""}`}>
        ${disk.total_bytes
          ? html`<span class="vm-figure">${formatBytes(disk.used_bytes)} / ${formatBytes(disk.total_bytes)}</span>
              <${Meter} pct=${disk.pct ?? (disk.used_bytes / disk.total_bytes) * 100} label="disk used" />`
          : html`<span class="muted">not reported</span>`}
      <//>
      <${Row} label="Network">
        ${snap.net
          ? html`↓ ${formatRate(net.rx_bps)} · ↑ ${formatRate(net.tx_bps)}${net.rx_errs || net.tx_errs ? html` · <span class="warn-text">${plural((net.rx_errs || 0) + (net.tx_errs || 0), "error")}</span>` : ""}`
          : html`<span class="muted">not reported</span>`}
      <//>
      ${snap.load && html`<${Row} label="Load">${snap.load.map((l) => Number(l).toFixed(2)).join(" · ")}<//>`}
      <${Row} label="Gateway">
        ${gateway
          ? html`<span><span class=${gateway.up ? "ok-text" : "bad-text"}>${gateway.up ? "up" : "down"}</span>${
              gateway.latency_ms != null ? ` · ${formatDuration(gateway.latency_ms)}` : ""}${
              gateway.status_code ? ` · HTTP ${gateway.status_code}` : ""}</span>`
          : html`<span class="muted">not checked</span>`}
      <//>
      ${snap.services && Object.keys(snap.services).length > 0 && html`<${Row} label="Services">
        <ul class="services">${Object.entries(snap.services).map(([svc, state]) => html`<li key=${svc}
          class=${state === "active" ? "ok-text" : state === "inactive" ? "warn-text" : "bad-text"}>${svc}: ${state}</li>`)}</ul>
      <//>`}
      ${snap.checks && html`<${Row} label="Checks">
        ${Object.entries(snap.checks).map(([check, result]) => html`<span key=${check}
          class=${`check-pill ${result === "ok" ? "ok" : result === "off" ? "off" : "bad"}`} title=${result}>${check}</span>`)}
      <//>`}
    </dl>
    ${notes.length > 0
      ? html`<ul class="issues">${notes.map((n, i) => html`<li key=${i} class=${`issue level-${n.level}`}>${n.text}</li>`)}</ul>`
      : html`<p class="ok-text small">No issues.</p>`}
  </article>`;
}

function SetupHelp() {
  const registry = `{"instances": [
  {"name": "zap",
   "libvirt": {"uri": "qemu:///system"},
   "ssh": {"host": "192.168.122.10", "user": "openclaw"},
   "gateway": {"url": "http://192.168.122.10:18789/"}}
]}`;
  return html`<section class="panel setup">
    <h2>No OpenClaw VM has reported yet</h2>
    <p>VM health cards come from <code>openclaw.snapshot</code> events sent by the VM monitor. To set it up:</p>
    <ol>
      <li>
        Describe your VMs in a registry file: <code>OPENCLAW_REGISTRY</code>, by default${" "}
        <code>~/.claude/state/openclaw-instances.json</code>. Every key but <code>name</code> is
        optional; leave out a check you do not want.
        <pre class="text-block">${registry}</pre>
      </li>
      <li>
        Run the monitor where it can reach libvirt and the VMs:${" "}
        <code>agentmon openclaw-monitor</code>. It polls every <code>POLL_INTERVAL</code>${" "}
        (default 30 s) and sends one snapshot per VM to the ingest gateway.
      </li>
      <li>Cards appear here by themselves as the first snapshots arrive.</li>
    </ol>
  </section>`;
}

export function OpenClawView() {
  const now = useTick(5000);
  const instances = useFetch("/v1/openclaw/instances");
  const chosen = useRoute().query.get("vm");
  useLiveRefresh(isSnapshot, instances.reload, 1500);
  let body;
  if (instances.data === null) {
    body = instances.error
      ? html`<${ErrorNote} error=${instances.error} onRetry=${instances.reload} />`
      : html`<${Loading} what="Loading VMs" />`;
  } else if (instances.data.instances.length === 0) {
    body = html`<${SetupHelp} />`;
  } else {
    body = html`<div class="vm-grid">${instances.data.instances.map((i) => html`<${InstanceCard}
      key=${i.name} instance=${i} fetchedAt=${instances.at} now=${now} chosen=${i.name === chosen} />`)}</div>`;
  }
  return html`<div class="view openclaw">
    <header class="view-head"><h1>OpenClaw VMs</h1>
      ${instances.data && instances.data.instances.length > 0 && html`<span class="muted">${instances.data.instances.length} VM${instances.data.instances.length === 1 ? "" : "s"} · green/amber/red: disk over 80/90 %, memory available under 10 %, no snapshot for 5 min</span>`}
    </header>
    ${instances.error && instances.data && html`<${ErrorNote} error=${instances.error} onRetry=${instances.reload} />`}
    ${body}
  </div>`;
}
