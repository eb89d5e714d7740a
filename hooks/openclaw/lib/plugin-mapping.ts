// OpenClaw typed plugin hooks → agentmon envelopes.
//
//   session_start / session_end              → session.start / session.end
//   llm_input (first for a runId)            → run.start
//   agent_end                                → run.end (+ error when it failed)
//   before_tool_call / after_tool_call       → span.start / span.end kind=tool (id from toolCallId)
//   tool_result_persist                      → span.end, only when after_tool_call did not end it
//   model_call_started / model_call_ended    → span.start / span.end kind=llm (id from callId)
//   llm_output.usage                         → metric.snapshot (the one place usage is counted)
//
// A hook for a run never started opens it first (run.start, synthetic), so events are never
// orphaned. Span ids are derived from the session id and the tool's own id.

import { BoundedMap, clip, type Config, type Envelope, envelope, type Payload, readConfig, sessionIdOf, spanIdFor } from "./core.js";

export type HookContext = Payload;

const startedRuns = new BoundedMap<boolean>();
const endedToolSpans = new BoundedMap<boolean>();
const startedSpans = new BoundedMap<boolean>();

/** Forget in-memory state (tests). */
export function resetPluginState(): void {
  startedRuns.clear();
  endedToolSpans.clear();
  startedSpans.clear();
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : typeof value === "number" ? String(value) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

class PluginMapper {
  readonly events: Envelope[] = [];
  readonly sessionId: string | undefined;
  readonly runId: string | undefined;

  constructor(
    readonly event: Payload,
    readonly ctx: HookContext,
    readonly config: Config,
  ) {
    const sessionKey = text(ctx.sessionKey) ?? text(event.sessionKey);
    this.sessionId = sessionIdOf(sessionKey, text(ctx.sessionId) ?? text(event.sessionId));
    this.runId = text(event.runId) ?? text(ctx.runId);
  }

  emit(type: string, payload: Payload, ids: { runId?: string; spanId?: string; sessionId?: string } = {}): void {
    const sessionId = ids.sessionId ?? this.sessionId;
    if (!sessionId) return;
    const attributes = { sessionKey: text(this.ctx.sessionKey), agentId: text(this.ctx.agentId) };
    this.events.push(
      envelope(type, { session_id: sessionId, run_id: ids.runId, span_id: ids.spanId }, payload, {
        config: this.config,
        attributes,
      }),
    );
  }

  ensureRun(payload: Payload = { synthetic: true }): string | undefined {
    const runId = this.runId;
    if (!runId || !this.sessionId || startedRuns.has(runId)) return runId;
    startedRuns.set(runId, true);
    this.emit("run.start", payload, { runId });
    return runId;
  }

  spanId(key: string): string | undefined {
    return this.sessionId ? spanIdFor(this.sessionId, key) : undefined;
  }

  startSpan(key: string, payload: Payload): void {
    const spanId = this.spanId(key);
    if (!spanId) return;
    startedSpans.set(spanId, true);
    this.emit("span.start", payload, { runId: this.ensureRun(), spanId });
  }

  endSpan(key: string, payload: Payload, error?: string): void {
    const spanId = this.spanId(key);
    if (!spanId) return;
    const reconstructed = !startedSpans.has(spanId) && payload.duration_ms !== undefined;
    startedSpans.delete(spanId);
    const runId = this.ensureRun();
    this.emit("span.end", { ...payload, status: error ? "error" : "ok", error, reconstructed: reconstructed || undefined }, { runId, spanId });
    if (error) this.emit("error", { message: error, kind: String(payload.kind) }, { runId, spanId });
  }
}

function toolKey(event: Payload, ctx: HookContext): string {
  return `tool:${text(event.toolCallId) ?? text(ctx.toolCallId) ?? text(event.toolName) ?? "unknown"}`;
}

function errorText(value: unknown): string | undefined {
  if (!value) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  return text((value as Payload).message) ?? JSON.stringify(value);
}

const HANDLERS: Record<string, (m: PluginMapper) => void> = {
  session_start(m) {
    m.emit("session.start", { resumedFrom: text(m.event.resumedFrom), agentId: text(m.ctx.agentId) });
  },
  session_end(m) {
    m.emit("session.end", {
      reason: text(m.event.reason),
      messageCount: num(m.event.messageCount),
      duration_ms: num(m.event.durationMs),
      nextSessionId: text(m.event.nextSessionId),
    });
  },
  llm_input(m) {
    m.ensureRun({ input: clip(m.event.prompt), model: text(m.event.model), provider: text(m.event.provider) });
  },
  agent_end(m) {
    const runId = m.ensureRun();
    const error = m.event.success === false ? (errorText(m.event.error) ?? "agent run failed") : undefined;
    if (error) m.emit("error", { message: error, kind: "agent" }, { runId });
    m.emit("run.end", { status: error ? "error" : "ok", error, duration_ms: num(m.event.durationMs) }, { runId });
  },
  before_tool_call(m) {
    m.startSpan(toolKey(m.event, m.ctx), {
      kind: "tool",
      name: text(m.event.toolName) ?? text(m.ctx.toolName),
      input: clip(m.event.params),
      toolCallId: text(m.event.toolCallId),
    });
  },
  after_tool_call(m) {
    const key = toolKey(m.event, m.ctx);
    const spanId = m.spanId(key);
    if (spanId) endedToolSpans.set(spanId, true);
    m.endSpan(
      key,
      {
        kind: "tool",
        name: text(m.event.toolName) ?? text(m.ctx.toolName),
        output: clip(m.event.result),
        duration_ms: num(m.event.durationMs),
        toolCallId: text(m.event.toolCallId),
      },
      errorText(m.event.error),
    );
  },
  tool_result_persist(m) {
    if (!text(m.event.toolCallId) && !text(m.ctx.toolCallId)) return;
    const key = toolKey(m.event, m.ctx);
    const spanId = m.spanId(key);
    if (!spanId || endedToolSpans.has(spanId)) return;
    endedToolSpans.set(spanId, true);
    const message = (m.event.message ?? {}) as Payload;
    m.endSpan(
      key,
      { kind: "tool", name: text(m.event.toolName) ?? text(m.ctx.toolName), output: clip(message.content) },
      message.isError === true ? "tool reported an error" : undefined,
    );
  },
  model_call_started(m) {
    m.startSpan(`llm:${text(m.event.callId)}`, {
      kind: "llm",
      name: text(m.event.model),
      provider: text(m.event.provider),
    });
  },
  model_call_ended(m) {
    const failed = m.event.outcome === "error";
    m.endSpan(
      `llm:${text(m.event.callId)}`,
      {
        kind: "llm",
        name: text(m.event.model),
        provider: text(m.event.provider),
        duration_ms: num(m.event.durationMs),
        timeToFirstByteMs: num(m.event.timeToFirstByteMs),
      },
      failed ? [text(m.event.errorCategory), text(m.event.failureKind)].filter(Boolean).join(": ") || "model call failed" : undefined,
    );
  },
  llm_output(m) {
    const usage = (m.event.usage ?? {}) as Payload;
    const counts = {
      input_tokens: num(usage.input),
      output_tokens: num(usage.output),
      cache_read_tokens: num(usage.cacheRead),
      cache_write_tokens: num(usage.cacheWrite),
      total_tokens: num(usage.total),
    };
    if (Object.values(counts).every((value) => value === undefined)) return;
    const runId = m.ensureRun();
    m.emit(
      "metric.snapshot",
      { usage: Object.fromEntries(Object.entries(counts).filter(([, v]) => v !== undefined)), model: text(m.event.model), provider: text(m.event.provider) },
      { runId },
    );
  },
};

export const PLUGIN_HOOKS = Object.keys(HANDLERS);

/** The envelopes one typed plugin hook call implies (updates the in-memory state). */
export function mapPluginHook(name: string, event: Payload, ctx: HookContext = {}, config: Config = readConfig()): Envelope[] {
  const handler = HANDLERS[name];
  if (!handler) return [];
  const mapper = new PluginMapper(event ?? {}, ctx ?? {}, config);
  handler(mapper);
  return mapper.events;
}
