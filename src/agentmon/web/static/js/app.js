// The application shell: navigation, connection status, the API-down banner, and the view
// for the current route.
import { html, useEffect } from "./lib.js";
import { apiStatus } from "./api.js";
import { ev, liveStatus, reconnectNow, useLiveRefresh } from "./live.js";
import { Link, matchRoute, useRoute } from "./router.js";
import { useStore } from "./store.js";
import { pageSubject, useFetch, useTick } from "./hooks.js";
import { DashboardView } from "./views/dashboard.js";
import { SessionsView } from "./views/sessions.js";
import { SessionView } from "./views/session.js";
import { AgentsView } from "./views/agents.js";
import { OpenClawView } from "./views/openclaw.js";
import { ErrorsView } from "./views/errors.js";
import { CostsView } from "./views/costs.js";
import { AttentionNotifier } from "./attention.js";
import { SearchView } from "./views/search.js";
import { AlertsView } from "./views/alerts.js";

const ROUTES = [
  ["/", "dashboard"],
  ["/sessions", "sessions"],
  ["/sessions/:id", "session"],
  ["/agents", "agents"],
  ["/openclaw", "openclaw"],
  ["/errors", "errors"],
  ["/costs", "costs"],
  ["/search", "search"],
  ["/alerts", "alerts"],
];

const NAV = [
  ["/", "Dashboard", ["dashboard"]],
  ["/sessions", "Sessions", ["sessions", "session"]],
  ["/agents", "Agents", ["agents"]],
  ["/openclaw", "OpenClaw", ["openclaw"]],
  ["/errors", "Errors", ["errors"]],
  ["/costs", "Costs", ["costs"]],
  ["/search", "Search", ["search"]],
  ["/alerts", "Alerts", ["alerts"]],
];

// A tab's title before its view names a more precise subject (see usePageTitle).
const TITLES = {
  dashboard: "Dashboard",
  sessions: "Sessions",
  session: "Session",
  agents: "Agents",
  openclaw: "OpenClaw VMs",
  errors: "Errors",
  costs: "Costs",
  search: "Search",
  alerts: "Alerts",
};

function LiveIndicator() {
  const live = useStore(liveStatus);
  const now = useTick(1000);
  if (live.state === "open") {
    return html`<span class="live-indicator on" role="status"><span class="dot" aria-hidden="true"></span>Live</span>`;
  }
  if (live.state === "connecting") {
    return html`<span class="live-indicator wait" role="status"><span class="dot" aria-hidden="true"></span>Connecting…</span>`;
  }
  const seconds = Math.max(0, Math.ceil((live.retryAt - now) / 1000));
  return html`<span class="live-indicator off" role="status">
    <span class="dot" aria-hidden="true"></span>Live updates lost, retrying in ${seconds} s
    <button type="button" class="link-button" onClick=${reconnectNow}>Retry now</button>
  </span>`;
}

/** How many sessions wait for a human now (live). */
function useWaitingCount() {
  const summary = useFetch("/v1/stats/summary");
  useLiveRefresh((e) => ev.session(e) !== null, summary.reload, 2000);
  return summary.data?.waiting_sessions ?? 0;
}

/** On every view: the agents waiting for a human, linking to them. */
function WaitingPill({ count }) {
  if (!count) return null;
  return html`<${Link} class="waiting-pill" href="/sessions?status=waiting">${count} waiting for a human<//>`;
}

function ApiBanner() {
  const status = useStore(apiStatus);
  if (!status.down) return null;
  return html`<div class="banner" role="alert">
    <strong>The agentmon API is unavailable.</strong> ${status.message} What you see may be out of
    date; this page checks again by itself and refreshes when the API is back.
  </div>`;
}

function NotFound({ path }) {
  return html`<div class="view"><div class="note empty">
    <h1>Nothing here</h1>
    <p>There is no page at <span class="mono">${path}</span>.</p>
    <p><${Link} href="/">Go to the dashboard<//></p>
  </div></div>`;
}

export function App() {
  const route = useRoute();
  const match = matchRoute(ROUTES, route.path);
  const name = match?.name ?? "missing";

  const waiting = useWaitingCount();
  const subject = useStore(pageSubject);

  useEffect(() => {
    const prefix = waiting ? `(${waiting} waiting) ` : "";
    const title = subject?.path === route.path ? subject.title : TITLES[name] || "Not found";
    document.title = `${prefix}${title} · agentmon`;
  }, [name, waiting, subject, route.path]);

  let view;
  switch (name) {
    case "dashboard": view = html`<${DashboardView} />`; break;
    case "sessions": view = html`<${SessionsView} />`; break;
    case "session": view = html`<${SessionView} key=${match.params.id} id=${match.params.id} />`; break;
    case "agents": view = html`<${AgentsView} />`; break;
    case "openclaw": view = html`<${OpenClawView} />`; break;
    case "errors": view = html`<${ErrorsView} />`; break;
    case "costs": view = html`<${CostsView} />`; break;
    case "search": view = html`<${SearchView} />`; break;
    case "alerts": view = html`<${AlertsView} />`; break;
    default: view = html`<${NotFound} path=${route.path} />`;
  }

  return html`
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} class="brand" href="/"><img src="/static/favicon.svg" alt="" width="22" height="22" />agentmon<//>
      <nav aria-label="Main">
        <ul>${NAV.map(([href, label, names]) => html`<li key=${href}>
          <${Link} href=${href} aria-current=${names.includes(name) ? "page" : null}>${label}<//>
        </li>`)}</ul>
      </nav>
      <${WaitingPill} count=${waiting} />
      <${LiveIndicator} />
    </header>
    <${ApiBanner} />
    <${AttentionNotifier} />
    <main id="main" tabindex="-1">${view}</main>`;
}
