// Alerts: every alert agentmon raised (stuck, looping, lost, failed, waiting, budget, VM down,
// silent, disk or memory), newest first, with whether the webhook took it; each can be
// acknowledged for everyone.
import { html, useEffect, useState } from "../lib.js";
import { withQuery } from "../api.js";
import { useFetch, useTick } from "../hooks.js";
import { Link, useQueryParams } from "../router.js";
import { formatAgo, formatDateTime } from "../format.js";
import { Empty, Loaded } from "../components/status.js";

const PAGE = 50;
const REFRESH_MS = 30000;
const KIND_LABELS = {
  waiting_for_human: "waiting",
  run_failed: "run failed",
  error: "error",
  stuck: "stuck",
  looping: "looping",
  lost: "lost",
  budget: "budget",
  vm_down: "VM down",
  vm_silent: "VM silent",
  vm_disk: "VM disk",
  vm_memory: "VM memory",
};
const DELIVERY_LABELS = {
  delivered: "sent to the webhook",
  failed: "webhook failed",
  pending: "sending…",
  no_webhook: "no webhook set",
};
const SHOWN = [["", "all"], ["false", "open"], ["true", "acknowledged"]];

async function acknowledgeAlert(id) {
  const response = await fetch(`/v1/alerts/${encodeURIComponent(id)}/ack`, {
    method: "POST",
    // the header another site's page cannot send without a preflight agentmon never grants
    headers: { accept: "application/json", "x-agentmon-csrf": "1" },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error || `HTTP ${response.status}`);
  return body;
}

function Subject({ alert }) {
  const { subject_type: type, subject } = alert;
  if (type === "session" && subject) {
    return html`<${Link} href=${`/sessions/${encodeURIComponent(subject)}`}>session ${subject}<//>`;
  }
  if (type === "vm") return html`<${Link} href="/openclaw">VM ${subject}<//>`;
  if (type === "budget") return html`<${Link} href="/costs">budget ${subject}<//>`;
  return html`<span class="muted">no session</span>`;
}

function AckLine({ alert, now, onAcked }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState("");
  const ack = alert.acknowledged;
  if (ack) {
    return html`<span class="muted small">acknowledged by ${ack.by} ${formatAgo(ack.at, now)}</span>`;
  }
  const act = async () => {
    setBusy(true);
    setFailed("");
    try {
      onAcked(await acknowledgeAlert(alert.id));
    } catch (error) {
      setFailed(error.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<span class="ack-line">
    <button type="button" class="ack-button" disabled=${busy} onClick=${act}
      title="Mark as seen for everyone">Acknowledge</button>
    ${failed && html`<span class="error-text small" role="alert">${failed}</span>`}</span>`;
}

function AlertItem({ alert, now, onAcked }) {
  const delivery = alert.delivery;
  return html`<li class=${`alert-item${alert.acknowledged ? " acknowledged" : ""}`} data-alert=${alert.id}>
    <div class="alert-head">
      <span class=${`badge alert-kind alert-${alert.kind}`}>${KIND_LABELS[alert.kind] || alert.kind}</span>
      <span class="alert-message">${alert.message}</span>
    </div>
    <div class="alert-facts small">
      <time datetime=${alert.fired_at} title=${formatDateTime(alert.fired_at)}>${formatAgo(alert.fired_at, now)}</time>
      <${Subject} alert=${alert} />
      <span class=${`alert-delivery delivery-${delivery}`}>${DELIVERY_LABELS[delivery] || delivery}</span>
      <${AckLine} alert=${alert} now=${now} onAcked=${onAcked} />
    </div>
  </li>`;
}

export function AlertsView() {
  const now = useTick(10000);
  const [query, setQuery] = useQueryParams();
  const kind = query.get("kind") || "";
  const shown = query.get("acknowledged") || "";
  const [before, setBefore] = useState(null);
  const [older, setOlder] = useState([]);
  const [acked, setAcked] = useState({});
  const params = { kind: kind || undefined, acknowledged: shown || undefined, limit: PAGE };
  const first = useFetch(withQuery("/v1/alerts", params));
  const more = useFetch(before ? withQuery("/v1/alerts", { ...params, before }) : null);
  useEffect(() => {
    const timer = setInterval(first.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [first.reload]);
  useEffect(() => { setBefore(null); setOlder([]); }, [kind, shown]);
  useEffect(() => {
    if (more.data) setOlder((rows) => [...rows, ...more.data.alerts.filter((a) => !rows.some((r) => r.id === a.id))]);
  }, [more.data]);
  const onAcked = (alert) => setAcked((all) => ({ ...all, [alert.id]: alert }));
  const choose = (change) => setQuery({ kind, acknowledged: shown, ...change }, { replace: true });
  const filtered = kind || shown;
  return html`<div class="view alerts">
    <header class="view-head">
      <h1>Alerts</h1>
      <div class="alert-filters">
      <label>kind${" "}
        <select value=${kind} onChange=${(e) => choose({ kind: e.currentTarget.value })}>
          <option value="">all</option>
          ${Object.entries(KIND_LABELS).map(([k, label]) => html`<option key=${k} value=${k}>${label}</option>`)}
        </select></label>
      <label>show${" "}
        <select value=${shown} onChange=${(e) => choose({ acknowledged: e.currentTarget.value })}>
          ${SHOWN.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
        </select></label>
      </div>
    </header>
    <${Loaded} state=${first} what="Loading the alerts">${(data) => {
      const rows = [...data.alerts, ...older.filter((o) => !data.alerts.some((a) => a.id === o.id))];
      if (rows.length === 0) {
        return html`<${Empty}>${filtered
          ? "No alert matches these filters."
          : html`No alert yet. Agentmon raises one when an agent waits for a person, fails, gets
            stuck, loops or is lost, when a budget is crossed, and when a VM goes down, stops
            reporting or runs short of disk or memory (see the README's alert settings).`}<//>`;
      }
      const next = older.length ? more.data?.next_before : data.next_before;
      return html`
        <ol class="alert-list">${rows.map((a) => html`<${AlertItem} key=${a.id} alert=${acked[a.id] || a} now=${now} onAcked=${onAcked} />`)}</ol>
        ${next && html`<button type="button" class="toggle" disabled=${more.loading}
          onClick=${() => setBefore(next)}>${more.loading ? "Loading…" : "Show older alerts"}</button>`}`;
    }}<//>
  </div>`;
}
