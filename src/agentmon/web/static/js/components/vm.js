// OpenClaw VM health: the green/amber/red rules and the status pill used by several views.
import { html } from "../lib.js";
import { Link } from "../router.js";
import { formatAge } from "../format.js";

const HEARTBEAT_LOST_S = 300;
const BAD_STATES = new Set(["shutoff", "crashed", "blocked", "unknown"]);
const WARN_STATES = new Set(["paused", "pmsuspended"]);

// Issue codes of the monitor and the query API, by the topic they cover.
const TOPICS = [
  ["state", (code) => code.startsWith("vm_")],
  ["heartbeat", (code) => code === "stale"],
  ["disk", (code) => code.startsWith("disk")],
  ["memory", (code) => code.startsWith("memory")],
  ["gateway", (code) => code.startsWith("gateway")],
];

function topicOf(code) {
  const found = TOPICS.find(([, test]) => test(code || ""));
  return found ? found[0] : null;
}

/** The checks the UI makes itself on a snapshot, as [topic, level, text]. */
function ownChecks(instance) {
  const out = [];
  const snap = instance.snapshot || {};
  const state = snap.state || "unknown";
  if (BAD_STATES.has(state)) out.push(["state", "bad", `VM is ${state}`]);
  else if (WARN_STATES.has(state)) out.push(["state", "warn", `VM is ${state}`]);
  if (instance.age_s > HEARTBEAT_LOST_S) {
    out.push(["heartbeat", "bad", `no snapshot for ${formatAge(instance.age_s).replace(" ago", "")}`]);
  } else if (instance.stale) {
    out.push(["heartbeat", "warn", "snapshot is stale"]);
  }
  const disk = snap.disk?.pct;
  if (typeof disk === "number" && disk > 90) out.push(["disk", "bad", `disk ${disk.toFixed(0)} % used`]);
  else if (typeof disk === "number" && disk > 80) out.push(["disk", "warn", `disk ${disk.toFixed(0)} % used`]);
  const mem = snap.memory;
  if (mem?.assigned_kb && typeof mem.available_kb === "number") {
    const free = (mem.available_kb / mem.assigned_kb) * 100;
    if (free < 10) out.push(["memory", "bad", `memory available ${free.toFixed(0)} %`]);
  }
  if (snap.gateway && snap.gateway.up === false) out.push(["gateway", "bad", "gateway down"]);
  return out;
}

/**
 * Each health finding of an instance: {level: "warn" | "bad", text}. The issues the monitor
 * and the API report come first; the UI's own thresholds (disk over 80/90 %, memory available
 * under 10 %, no snapshot for 5 min, VM not running, gateway down) only add what they miss.
 */
export function findings(instance) {
  const issues = instance.issues || instance.snapshot?.issues || [];
  const covered = new Set(issues.map((issue) => topicOf(issue.code)));
  const out = issues.map((issue) => ({
    level: issue.severity === "critical" || issue.severity === "error" ? "bad" : "warn",
    text: issue.message || issue.code || "issue",
  }));
  for (const [topic, level, text] of ownChecks(instance)) {
    if (!covered.has(topic)) out.push({ level, text });
  }
  return out;
}

/** "ok", "warn" or "bad": the worst of the instance's findings. */
export function healthLevel(instance) {
  const levels = findings(instance).map((f) => f.level);
  if (levels.includes("bad")) return "bad";
  if (levels.includes("warn")) return "warn";
  return "ok";
}

/** A compact pill: name, state and health colour, linking to `href` (the VM grid by default). */
export function VmPill({ instance, href = "/openclaw" }) {
  const level = healthLevel(instance);
  const state = instance.snapshot?.state || "unknown";
  const issues = findings(instance).map((f) => f.text).join("; ");
  return html`<${Link} class=${`vm-pill level-${level}`} href=${href}
      title=${issues || `${instance.name}: healthy`}>
    <span class="dot" aria-hidden="true"></span>
    <span class="vm-name">${instance.name}</span>
    <span class="vm-state">${state}</span>
  <//>`;
}
