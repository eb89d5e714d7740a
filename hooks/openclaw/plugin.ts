// agentmon's OpenClaw typed plugin: tool calls, model calls, usage, run and session ends.
// Every handler returns synchronously (tool_result_persist must) and never throws.

import { send } from "./lib/core.js";
import { type HookContext, mapPluginHook, PLUGIN_HOOKS, setOneShotLocal } from "./lib/plugin-mapping.js";

export interface PluginApi {
  on(hook: string, handler: (event: Record<string, unknown>, ctx: HookContext) => unknown): void;
}

/** `openclaw agent --local …`: one turn in this process, which then exits. */
export function isOneShotLocalRun(argv: string[]): boolean {
  return argv.includes("agent") && argv.includes("--local");
}

export function register(api: PluginApi, argv: string[] = process.argv): void {
  setOneShotLocal(isOneShotLocalRun(argv));
  for (const hook of PLUGIN_HOOKS) {
    api.on(hook, (event, ctx) => {
      try {
        send(mapPluginHook(hook, event, ctx));
      } catch {
        // never let telemetry break the gateway
      }
      return undefined;
    });
  }
}

const plugin = {
  id: "agentmon",
  name: "agentmon",
  description: "Forward OpenClaw tool calls, model calls, usage and session lifecycle to agentmon",
  register,
};

export default plugin;
