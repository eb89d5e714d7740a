// agentmon's OpenClaw typed plugin: tool calls, model calls, usage, run and session ends, and
// the exec approvals a run waits for (from OpenClaw's agent events: no plugin hook reports them).
// Every handler returns synchronously (tool_result_persist must) and never throws.

import { type Payload, send } from "./lib/core.js";
import { approvalPhaseOf, type HookContext, mapAgentEvent, mapPluginHook, PLUGIN_HOOKS, setOneShotLocal } from "./lib/plugin-mapping.js";

type AgentEventListener = (event: Payload) => void;

export interface PluginApi {
  on(hook: string, handler: (event: Record<string, unknown>, ctx: HookContext) => unknown): void;
  /** OpenClaw's plugin runtime; `events.onAgentEvent` subscribes to every run's agent events. */
  runtime?: { events?: { onAgentEvent?(listener: AgentEventListener): unknown } };
}

/** `openclaw agent --local …`: one turn in this process, which then exits. */
export function isOneShotLocalRun(argv: string[]): boolean {
  return argv.includes("agent") && argv.includes("--local");
}

function forward(map: () => ReturnType<typeof mapAgentEvent>): void {
  try {
    send(map());
  } catch {
    // never let telemetry break the gateway
  }
}

// OpenClaw may register the plugin more than once in a process (each plugin registry it
// loads); its agent events are one process-wide bus. One subscription per process, which
// calls the latest registration's mapping.
const AGENT_EVENTS = Symbol.for("agentmon.openclaw.agentEvents");
type Subscription = { listener: AgentEventListener };
const slots = globalThis as unknown as Record<symbol, Subscription | undefined>;

/** Follow OpenClaw's agent events, once per process; false when the runtime offers none. */
export function followAgentEvents(api: PluginApi, listener: AgentEventListener): boolean {
  const existing = slots[AGENT_EVENTS];
  if (existing) {
    existing.listener = listener;
    return true;
  }
  const subscription: Subscription = { listener };
  try {
    // a metadata-only registration's runtime throws on access
    const events = api.runtime?.events;
    if (typeof events?.onAgentEvent !== "function") return false;
    events.onAgentEvent((event: Payload) => subscription.listener(event));
  } catch {
    return false;
  }
  slots[AGENT_EVENTS] = subscription;
  return true;
}

/** Forget the process's subscription (tests; OpenClaw's bus keeps its listener, now idle). */
export function stopFollowingAgentEvents(): void {
  const existing = slots[AGENT_EVENTS];
  if (existing) existing.listener = () => undefined;
  slots[AGENT_EVENTS] = undefined;
}

export function register(api: PluginApi, argv: string[] = process.argv): void {
  setOneShotLocal(isOneShotLocalRun(argv));
  for (const hook of PLUGIN_HOOKS) {
    api.on(hook, (event, ctx) => {
      forward(() => mapPluginHook(hook, event, ctx));
      return undefined;
    });
  }
  followAgentEvents(api, (event) => {
    if (approvalPhaseOf(event)) forward(() => mapAgentEvent(event));
  });
}

const plugin = {
  id: "agentmon",
  name: "agentmon",
  description: "Forward OpenClaw tool calls, model calls, usage, session lifecycle and exec approvals to agentmon",
  register,
};

export default plugin;
