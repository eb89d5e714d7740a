// OpenClaw internal hook events (HOOK.md + handler) → agentmon envelopes.
//
// The original integration's eight mappings, on OpenClaw's real event shapes:
//   command:new            → session.end (previous entry, if any) + session.start
//   command:reset          → session.end + session.start
//   command:stop           → run.end cancelled (if a run is open) + session.end
//   message:received       → run.start   (a run the hook creates; a run still open ends "unknown")
//   message:sent           → run.end     (failed send: status error + an error event)
//   session:compact:before → span.start kind=compaction
//   session:compact:after  → span.end kind=compaction (+ token figures)
//   session:auto-reset     → session.end + session.start (next session)
// (tool_result_persist → span.end is a typed plugin hook: see plugin.ts.)

import { randomUUID } from "node:crypto";

import { BoundedMap, clip, type Config, type Envelope, envelope, type Payload, readConfig, sessionIdOf, spanIdFor } from "./core.js";

export interface InternalHookEvent {
  type: string;
  action: string;
  sessionKey?: string;
  timestamp?: Date | string;
  messages?: string[];
  context?: Payload;
}

interface OpenRun {
  runId: string;
  startedAt: number;
}

const openRuns = new BoundedMap<OpenRun>();
const openCompactions = new BoundedMap<number>();

/** Forget in-memory run state (tests). */
export function resetInternalState(): void {
  openRuns.clear();
  openCompactions.clear();
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}

function entryId(entry: unknown): string | undefined {
  return entry && typeof entry === "object" ? text((entry as Payload).sessionId) : undefined;
}

class Mapper {
  readonly events: Envelope[] = [];
  readonly at: number;

  constructor(
    readonly hook: InternalHookEvent,
    readonly config: Config,
  ) {
    const stamp = hook.timestamp instanceof Date ? hook.timestamp.getTime() : Date.parse(String(hook.timestamp));
    this.at = Number.isNaN(stamp) ? Date.now() : stamp;
  }

  get context(): Payload {
    return this.hook.context ?? {};
  }

  emit(type: string, sessionId: string, payload: Payload, extra: { runId?: string; spanId?: string } = {}): void {
    this.events.push(
      envelope(
        type,
        { session_id: sessionId, run_id: extra.runId, span_id: extra.spanId },
        payload,
        { at: this.at, config: this.config, attributes: { sessionKey: this.hook.sessionKey } },
      ),
    );
  }

  endRun(sessionId: string, status: string, payload: Payload = {}): void {
    const run = openRuns.get(sessionId);
    if (!run) return;
    openRuns.delete(sessionId);
    this.emit("run.end", sessionId, { status, duration_ms: Math.max(this.at - run.startedAt, 0), ...payload }, { runId: run.runId });
  }

  endSession(sessionId: string, reason: string): void {
    this.endRun(sessionId, "unknown");
    this.emit("session.end", sessionId, { reason });
  }

  startSession(sessionId: string, payload: Payload): void {
    this.emit("session.start", sessionId, payload);
  }
}

function newOrReset(m: Mapper, reason: string): void {
  const key = m.hook.sessionKey;
  const previous = entryId(m.context.previousSessionEntry);
  const next = entryId(m.context.sessionEntry) ?? key;
  if (previous && previous !== next) m.endSession(previous, reason);
  else if (reason === "reset" && next) m.endSession(next, reason);
  if (!next) return;
  sessionIdOf(key, next);
  m.startSession(next, { source: text(m.context.commandSource), cwd: text(m.context.workspaceDir) });
}

function stop(m: Mapper): void {
  const sessionId = sessionIdOf(m.hook.sessionKey, text(m.context.sessionId));
  if (!sessionId) return;
  m.endRun(sessionId, "cancelled");
  m.endSession(sessionId, "stop");
}

function autoReset(m: Mapper): void {
  const previous = entryId(m.context.sessionEntry) ?? sessionIdOf(m.hook.sessionKey);
  if (previous) m.endSession(previous, text(m.context.reason) ?? "auto-reset");
  const next = text(m.context.nextSessionId);
  if (!next) return;
  sessionIdOf(text(m.context.nextSessionKey) ?? m.hook.sessionKey, next);
  m.startSession(next, { source: "auto-reset", cwd: text(m.context.workspaceDir) });
}

function received(m: Mapper): void {
  const sessionId = sessionIdOf(m.hook.sessionKey);
  if (!sessionId) return;
  m.endRun(sessionId, "unknown");
  const runId = randomUUID();
  openRuns.set(sessionId, { runId, startedAt: m.at });
  const metadata = (m.context.metadata ?? {}) as Payload;
  m.emit(
    "run.start",
    sessionId,
    { input: clip(m.context.content), channel: text(m.context.channelId), sender: text(metadata.senderName) },
    { runId },
  );
}

function sent(m: Mapper): void {
  const sessionId = sessionIdOf(m.hook.sessionKey);
  if (!sessionId) return;
  const failed = m.context.success === false;
  const error = failed ? (text(m.context.error) ?? "message send failed") : undefined;
  if (failed) {
    const runId = openRuns.get(sessionId)?.runId;
    m.emit("error", sessionId, { message: error, kind: "delivery", channel: text(m.context.channelId) }, { runId });
  }
  if (!openRuns.has(sessionId)) {
    const runId = randomUUID();
    openRuns.set(sessionId, { runId, startedAt: m.at });
    m.emit("run.start", sessionId, { synthetic: true }, { runId });
  }
  m.endRun(sessionId, failed ? "error" : "ok", { output: clip(m.context.content), error });
}

function compaction(m: Mapper, phase: "before" | "after"): void {
  const sessionId = sessionIdOf(m.hook.sessionKey);
  if (!sessionId) return;
  const runId = openRuns.get(sessionId)?.runId;
  const spanId = spanIdFor(sessionId, `compaction:${openCompactions.get(sessionId) ?? m.at}`);
  const figures = {
    messageCount: m.context.messageCount,
    tokenCount: m.context.tokenCount,
  };
  if (phase === "before") {
    openCompactions.set(sessionId, m.at);
    m.emit("span.start", sessionId, { kind: "compaction", name: "compaction", ...figures }, { runId, spanId });
    return;
  }
  const startedAt = openCompactions.get(sessionId);
  openCompactions.delete(sessionId);
  m.emit(
    "span.end",
    sessionId,
    {
      kind: "compaction",
      name: "compaction",
      status: "ok",
      duration_ms: startedAt === undefined ? undefined : Math.max(m.at - startedAt, 0),
      ...figures,
      compactedCount: m.context.compactedCount,
      tokensBefore: m.context.tokensBefore,
      tokensAfter: m.context.tokensAfter,
      summaryLength: m.context.summaryLength,
    },
    { runId, spanId },
  );
}

const HANDLERS: Record<string, (m: Mapper) => void> = {
  "command:new": (m) => newOrReset(m, "new"),
  "command:reset": (m) => newOrReset(m, "reset"),
  "command:stop": stop,
  "session:auto-reset": autoReset,
  "message:received": received,
  "message:sent": sent,
  "session:compact:before": (m) => compaction(m, "before"),
  "session:compact:after": (m) => compaction(m, "after"),
};

/** The envelopes one internal hook event implies (updates the in-memory run state). */
export function mapInternalEvent(hook: InternalHookEvent, config: Config = readConfig()): Envelope[] {
  const handler = HANDLERS[`${hook.type}:${hook.action}`];
  if (!handler) return [];
  const mapper = new Mapper(hook, config);
  handler(mapper);
  return mapper.events;
}
