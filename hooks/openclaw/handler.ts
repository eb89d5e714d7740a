// agentmon's OpenClaw internal hook: maps lifecycle events to agentmon envelopes and posts
// them to $AGENTMON_INGEST_URL/v1/events. It returns at once and never throws: delivery is
// fire-and-forget with a short timeout and a few quick retries.

import { send } from "./lib/core.js";
import { type InternalHookEvent, mapInternalEvent } from "./lib/internal.js";

export default async function handler(event: InternalHookEvent): Promise<void> {
  try {
    send(mapInternalEvent(event));
  } catch {
    // never let telemetry break the gateway
  }
}
