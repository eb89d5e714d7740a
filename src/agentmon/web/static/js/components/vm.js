// OpenClaw VM health: the green/amber/red rules and the status pill used by several views.
import { html } from "../lib.js";
import { Link } from "../router.js";
import { formatAge } from "../format.js";

const HEARTBEAT_LOST_S = 300;
const BAD_STATES = new Set(["shutoff", "crashed", "blocked", "unknown"]);
const WARN_STATES = new Set(["paused", "pmsuspended"]);

/** Each health finding of an instance: {level: "warn" | "bad", text}. */
export function findings(instance) {
  const out = [];
  const snap = instance.snapshot || {};
  const state = snap.state || "unknown";
  if (BAD_STATES.has(state)) out.push({ level: "bad", text: `VM is ${state}` });
  else if (WARN_STATES.has(state)) out.push({ level: "warn", text: `VM is ${state}` });
  if (instance.age_s > HEARTBEAT_LOST_S) {
    out.push({ level: "bad", text: `no snapshot for ${formatAge(instance.age_s).replace(" ago", "")}` });
  } else if (instance.stale) {
    out.push({ level: "warn", text: "snapshot is stale" });
  }
  const disk = snap.disk?.pct;
  if (typeof disk === "number" && disk > 90) out.push({ level: "bad", text: `disk ${disk.toFixed(0)} % used` });
  else if (typeof disk === "number" && disk > 80) out.push({ level: "warn", text: `disk ${disk.toFixed(0)} % used` });
  const mem = snap.memory;
  if (mem?.assigned_kb && typeof mem.available_kb === "number") {
    const free = (mem.available_kb / mem.assigned_kb) * 100;
    if (free < 10) out.push({ level: "bad", text: `memory available ${free.toFixed(0)} %` });
    else if (free < 20) out.push({ level: "warn", text: `memory available ${free.toFixed(0)} %` });
  }
  if (snap.gateway && snap.gateway.up === false) out.push({ level: "bad", text: "gateway down" });
  for (const [name, result] of Object.entries(snap.checks || {})) {
    if (typeof result === "string" && result.startsWith("error")) {
      out.push({ level: "warn", text: `${name} check: ${result}` });
    }
  }
  for (const issue of instance.issues || snap.issues || []) {
    const level = issue.severity === "critical" || issue.severity === "error" ? "bad" : "warn";
    out.push({ level, text: issue.message || issue.code || "issue" });
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

/** A compact pill: name, state and health colour, linking to the VM grid. */
export function VmPill({ instance }) {
  const level = healthLevel(instance);
  const state = instance.snapshot?.state || "unknown";
  const issues = findings(instance).map((f) => f.text).join("; ");
  return html`<${Link} class=${`vm-pill level-${level}`} href="/openclaw"
      title=${issues || `${instance.name}: healthy`}>
    <span class="dot" aria-hidden="true"></span>
    <span class="vm-name">${instance.name}</span>
    <span class="vm-state">${state}</span>
  <//>`;
}
